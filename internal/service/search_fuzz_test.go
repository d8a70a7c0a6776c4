package service_test

// FuzzFindUsers fuzzes the user search through the service on SQLite: a
// person is invited with the fuzzer's name, and a search with the fuzzer's
// query must return exactly the listed users whose full name, last name or
// email begins with the query's search key (muster.SearchKey), in name
// order, as a reading of the whole list in Go says; bad text is refused
// (EINVALID) and nothing is ever an internal error.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func FuzzFindUsers(f *testing.F) {
	db := storetest.OpenSQLite(f)
	svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"),
		PasswordParams: secret.TestParams})
	setup, err := svc.CreateOrg(operator(0), service.NewOrg{Name: "Acme", LicenseTotal: service.MaxLicenseTotal,
		OwnerEmail: "owner@example.com", OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := svc.AcceptInvitation(context.Background(), tokenOf(setup.SetupURL), "a long enough secret",
		service.Client{IP: "192.0.2.1", Origin: "test"}); err != nil {
		f.Fatal(err)
	}
	owner := muster.NewContext(context.Background(), muster.Principal{UserID: setup.Owner.ID, OrgID: setup.Org.ID, Origin: "test"})
	listed, err := svc.Teams(owner, service.TeamListQuery{})
	if err != nil {
		f.Fatal(err)
	}
	teams := listed.Teams
	seq := 0
	invite := func(first, last, email string) (*muster.User, error) {
		res, err := svc.Invite(owner, service.InviteInput{FirstName: first, LastName: last, Email: email,
			Role: muster.RoleBasic, PrimaryTeamID: teams[0].ID})
		if err != nil {
			return nil, err
		}
		return res.User, nil
	}
	for _, n := range [][2]string{{"Ada", "Lovelace"}, {"Zoë", "Ångström"}, {"İlkay", "Gündoğan"}, {"李", "小龍"},
		{"Ann", "da Silva"}, {"ann", "DA SILVA"}, {"Øyvind", "Ødegaard"}, {"Ω", "Ωmega"}} {
		seq++
		if _, err := invite(n[0], n[1], fmt.Sprintf("%s.%d@example.com", strings.ToLower(n[1][:1]), seq)); err != nil {
			f.Fatal(err)
		}
	}
	for _, s := range [][3]string{{"Ada", "Byron", "ada"}, {"", "", ""}, {"X", "Y", "ann da"}, {"Ann", "Smith", "  ANN   d"},
		{"Zed", "Z", "zoë å"}, {"Bad", "Name", "ab\x00cd"}, {"Q", "Q", "\xff"}, {"Eve", "E", "e"}, {"İ", "i", "i̇"},
		{"Ann\U0010FFFFx", "y", "ann"}, {"a", "b", "%"}, {"a_b", "c", "a_"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, first, last, q string) {
		seq++
		u, err := invite(first, last, fmt.Sprintf("fuzz.%d@example.com", seq))
		if code := muster.ErrorCode(err); code == muster.EINTERNAL {
			t.Fatalf("Invite(%q, %q): %v", first, last, err)
		}
		if u != nil {
			defer func() {
				if _, err := svc.Withdraw(owner, u.ID); err != nil {
					t.Fatal(err)
				}
			}()
		}
		page, err := svc.FindUsers(owner, service.UserQuery{Search: q, Limit: service.MaxPageSize})
		if muster.TextProblem(q) != "" {
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("FindUsers(%q): %v; want EINVALID", q, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("FindUsers(%q): %v", q, err)
		}
		all, err := svc.FindUsers(owner, service.UserQuery{Limit: service.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		key := muster.SearchKey(q)
		var want []int64
		for _, u := range all.Users {
			if strings.HasPrefix(muster.SearchKey(u.FirstName+" "+u.LastName), key) ||
				strings.HasPrefix(muster.SearchKey(u.LastName), key) || strings.HasPrefix(muster.NormalizeEmail(u.Email), key) {
				want = append(want, u.ID)
			}
		}
		var got []int64
		for i, u := range page.Users {
			got = append(got, u.ID)
			if i > 0 {
				prev := page.Users[i-1]
				if muster.SearchKey(prev.FirstName+" "+prev.LastName) > muster.SearchKey(u.FirstName+" "+u.LastName) {
					t.Fatalf("FindUsers(%q): %q before %q", q, prev.Name(), u.Name())
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("FindUsers(%q) (key %q) = %v; want %v (of %d users; invited %q %q)", q, key, got, want,
				len(all.Users), first, last)
		}
	})
}
