package mail_test

import (
	"testing"
	"time"

	"github.com/muster-app/muster/internal/mail"
)

// TestInvitationsCompose: every email composed from the templates rendered
// once is the one ComposeInvitation writes, for plain values and for
// values the HTML template escapes.
func TestInvitationsCompose(t *testing.T) {
	expires := time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)
	people := []struct{ first, email, link string }{
		{"Ada", "ada@example.com", "https://muster.example/invite/AbC-123_xyz"},
		{"Zoë Ünal", "zoe.unal@example.com", "http://localhost:8080/invite/t0k3n"},
		{"O'Brien", "o'brien+tag@example.com", "https://muster.example/invite/a&b=c"},
		{"<b>Bold</b>", "\"quoted\"@example.com", "javascript:alert(1)"},
		{"Plain", "plain@example.com", "https://muster.example/invite/with space"},
		{"Percent", "p@example.com", "https://muster.example/invite/%41"},
		{"zzMusterEmail7Q", "zzMusterLink7Q@example.com", "https://muster.example/invite/zzMusterFirstName7Q"},
	}
	for _, common := range []mail.Invitation{
		{OrgName: "Acme & Sons", InviterName: "Olive Owner", ExpiresAt: expires},
		{OrgName: "Acme", ExpiresAt: expires, Owner: true},
		{OrgName: "<SSO Org>", InviterName: "Ian 'Admin'", ExpiresAt: expires, SSO: true},
	} {
		c, err := mail.NewInvitations(common)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range people {
			got, err := c.Compose(p.first, p.email, p.link)
			if err != nil {
				t.Fatal(err)
			}
			inv := common
			inv.FirstName, inv.Email, inv.Link = p.first, p.email, p.link
			want, err := mail.ComposeInvitation(inv)
			if err != nil {
				t.Fatal(err)
			}
			if *got != *want {
				t.Errorf("%+v, %+v:\ngot  %+v\nwant %+v", common, p, got, want)
			}
		}
	}
}
