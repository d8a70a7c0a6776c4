package service_test

// Bad bytes (issue 16): text that is not valid UTF-8, holds NUL or another
// control character, or, in a name, an invisible or text-direction
// character, is refused by the service too, whatever interface calls it
// (the command line has no edge of its own), on both stores: PostgreSQL
// answered 22021 (a 500) and SQLite stored the bytes raw.

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// badText is text every input refuses; badNames is what names refuse
// besides.
var (
	badText  = []string{"\x00", "ab\x00cd", "Bad\xff\xfeName", "T\xff", "é"[:1], "Bell\x07"}
	badNames = []string{"Default\u200bTeam", "Default\u2028Team", "Default\u202eTeam", "Default\u2066Team", "\ufeffDefault Team"}
)

func TestBadBytesRefusedByService(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		owner := f.as(f.owner)
		def := f.defaultTeam()
		target, _ := f.invite("Tess", muster.RoleBasic)
		sales := f.team(t, "Sales")
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}
		for _, bad := range append(append([]string{}, badText...), badNames...) {
			// Each name field of each call that takes one, then the emails.
			calls := map[string]func() error{
				"invite first_name": func() error {
					_, err := f.svc.Invite(owner, service.InviteInput{FirstName: bad, LastName: "X", Email: uniqueEmail("x"),
						Role: muster.RoleBasic, PrimaryTeamID: def.ID})
					return err
				},
				"invite last_name": func() error {
					_, err := f.svc.Invite(owner, service.InviteInput{FirstName: "X", LastName: bad, Email: uniqueEmail("x"),
						Role: muster.RoleBasic, PrimaryTeamID: def.ID})
					return err
				},
				"edit first_name": func() error {
					_, err := f.svc.UpdateUser(owner, target.ID, service.UserUpdate{FirstName: &bad})
					return err
				},
				"team": func() error { _, err := f.svc.CreateTeam(owner, bad); return err },
				"team rename": func() error {
					_, err := f.svc.RenameTeam(owner, sales.ID, bad, 0)
					return err
				},
				"send-as from_name": func() error {
					_, err := f.svc.CreateSendAs(owner, service.SendAsInput{FromName: bad, FromEmail: "news@example.com"})
					return err
				},
				"send-as reply_to_name": func() error {
					_, err := f.svc.CreateSendAs(owner, service.SendAsInput{FromName: "News", FromEmail: "news@example.com",
						DifferentReplyTo: true, ReplyToName: bad, ReplyToEmail: "reply@example.com"})
					return err
				},
				"api token name": func() error { _, err := f.svc.CreateAPIToken(owner, bad, time.Time{}); return err },
				"org name": func() error {
					_, err := f.svc.CreateOrg(operator(0), service.NewOrg{Name: bad, LicenseTotal: 5,
						OwnerEmail: uniqueEmail("o"), OwnerFirstName: "O", OwnerLastName: "O"})
					return err
				},
			}
			if !strings.HasPrefix(bad, "Default") && !strings.HasPrefix(bad, "\ufeff") {
				calls["invite email"] = func() error {
					_, err := f.svc.Invite(owner, service.InviteInput{FirstName: "X", LastName: "Y", Email: "a" + bad + "@example.com",
						Role: muster.RoleBasic, PrimaryTeamID: def.ID})
					return err
				}
				calls["org owner email"] = func() error {
					_, err := f.svc.CreateOrg(operator(0), service.NewOrg{Name: "Org", LicenseTotal: 5,
						OwnerEmail: "o" + bad + "@example.com", OwnerFirstName: "O", OwnerLastName: "O"})
					return err
				}
			}
			for what, call := range calls {
				t.Run(what+" "+strings.ToValidUTF8(bad, "?"), func(t *testing.T) {
					f.refused(t, muster.EINVALID, call)
				})
			}
		}
	})
}

// TestBadSearchesAndCursorsRefusedByService: searches, audit filters and
// user-list cursors whose text is bad are refused (EINVALID), not passed to
// the store, which failed on PostgreSQL.
func TestBadSearchesAndCursorsRefusedByService(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		owner := f.as(f.owner)
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}
		cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
		// The cursors: "1:\x00\xff" and "1:\xff".
		cursors := []string{"MToA_w", "MTr_", cursor("1:\x00"), cursor("1:ab\x00cd"), cursor("7:Bad\xffName")}
		for _, q := range badText {
			_, err := f.svc.FindUsers(owner, service.UserQuery{Search: q})
			wantCode(t, err, muster.EINVALID)
			_, err = f.svc.FindUserDirectory(owner, service.UserQuery{Search: q})
			wantCode(t, err, muster.EINVALID)
			_, err = f.svc.FindSendAsAssignees(owner, service.AssigneeQuery{Search: q, Limit: 10})
			wantCode(t, err, muster.EINVALID)
			_, err = f.svc.FindAuditEvents(owner, service.AuditQuery{Action: q})
			wantCode(t, err, muster.EINVALID)
			_, err = f.svc.FindAuditEvents(owner, service.AuditQuery{TargetType: q})
			wantCode(t, err, muster.EINVALID)
			wantCode(t, f.svc.ExportAuditEvents(owner, &bytes.Buffer{}, service.AuditQuery{Action: q}), muster.EINVALID)
			_, err = f.svc.FindUserByEmail(owner, "a"+q+"@example.com")
			wantCode(t, err, muster.ENOTFOUND)
		}
		for _, c := range cursors {
			_, err := f.svc.FindUsers(owner, service.UserQuery{Cursor: c})
			wantCode(t, err, muster.EINVALID)
		}
		// A cursor the service made still pages, names beyond ASCII too.
		for _, name := range []string{"Zoë", "Ünal", "Łukasz"} {
			f.active(name, muster.RoleBasic)
		}
		var seen int
		q := service.UserQuery{Limit: 1}
		for {
			page, err := f.svc.FindUsers(owner, q)
			if err != nil {
				t.Fatalf("page %d: %v", seen, err)
			}
			seen += len(page.Users)
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if seen != 4 {
			t.Fatalf("paged through %d users; want 4", seen)
		}
	})
}

// TestUserAgentRecordedWhole: a session keeps at most 300 bytes of the
// User-Agent, cut between characters, with bad bytes replaced. The issue's
// User-Agents, 299 ASCII bytes and "é" (cut in its middle at byte 300) and
// one with a raw 0xFF, failed sign-in on PostgreSQL.
func TestUserAgentRecordedWhole(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		long := strings.Repeat("a", 299)
		for ua, want := range map[string]string{
			long + "é":               long,
			"Mozilla/5.0 \xff (X11)": "Mozilla/5.0 \uFFFD (X11)",
			"Nul\x00Agent":           "Nul\uFFFDAgent",
			strings.Repeat("é", 200): strings.Repeat("é", 150),
		} {
			in, err := f.svc.SignIn(context.Background(), f.owner.Email, "a long enough secret",
				service.Client{IP: "192.0.2.9", UserAgent: ua, Origin: "test"})
			if err != nil {
				t.Fatalf("SignIn with User-Agent %q: %v", ua, err)
			}
			sessions, err := f.svc.Sessions(f.as(f.owner))
			if err != nil {
				t.Fatal(err)
			}
			var stored *muster.Session
			for _, s := range sessions {
				if s.ID == in.Session.ID {
					stored = s
				}
			}
			if stored == nil {
				t.Fatalf("session %d not listed", in.Session.ID)
			}
			if stored.UserAgent != want || !utf8.ValidString(stored.UserAgent) || len(stored.UserAgent) > 300 {
				t.Errorf("User-Agent %q stored as %q; want %q", ua, stored.UserAgent, want)
			}
		}
	})
}
