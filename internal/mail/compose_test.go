package mail

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n%s", path, got)
	}
}

func TestInvitationGolden(t *testing.T) {
	expires := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for name, inv := range map[string]Invitation{
		"invitation": {OrgName: "Acme & Co", InviterName: "Olive O'Neil", FirstName: "Zoë", Email: "zoe@example.com",
			Link: "https://muster.example.com/invitations/abc123", ExpiresAt: expires},
		"setup": {OrgName: "Acme & Co", FirstName: "Olive", Email: "olive@example.com",
			Link: "https://muster.example.com/invitations/def456", ExpiresAt: expires, Owner: true},
		"invitation_sso": {OrgName: "Acme & Co", InviterName: "Olive O'Neil", FirstName: "Zoë", Email: "zoe@example.com",
			Link: "https://muster.example.com/invitations/abc123", ExpiresAt: expires, SSO: true},
	} {
		t.Run(name, func(t *testing.T) {
			msg, err := ComposeInvitation(inv)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".subject", msg.Subject)
			golden(t, name+".txt", msg.Text)
			golden(t, name+".html", msg.HTML)
			if strings.Contains(msg.HTML, "<script") || !strings.Contains(msg.HTML, "Acme &amp; Co") {
				t.Error("HTML part does not escape the org name")
			}
		})
	}
}

func TestPasswordResetAndReportGolden(t *testing.T) {
	expires := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	msg, err := ComposePasswordReset(PasswordReset{OrgName: "Acme", FirstName: "Olive",
		Link: "https://muster.example.com/password-reset/xyz", ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "password_reset.txt", msg.Text)
	golden(t, "password_reset.html", msg.HTML)
	msg, err = ComposeReportReady(ReportReady{OrgName: "Acme", FirstName: "Olive", Rows: 1234,
		Link: "https://muster.example.com/reports/7/download", ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report_ready.txt", msg.Text)
	golden(t, "report_ready.html", msg.HTML)
	msg, err = ComposeReportFailed(ReportFailed{OrgName: "Acme", FirstName: "Olive"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "report_failed.subject", msg.Subject)
	golden(t, "report_failed.txt", msg.Text)
	golden(t, "report_failed.html", msg.HTML)
	msg, err = ComposeRecoveryCodeUsed(RecoveryCodeUsed{OrgName: "Acme", FirstName: "Adam", OwnerName: "Olive Owner",
		At: expires, IP: "192.0.2.7", Left: 9})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "recovery_code_used.subject", msg.Subject)
	golden(t, "recovery_code_used.txt", msg.Text)
	golden(t, "recovery_code_used.html", msg.HTML)
}

func TestComposeTwoStepNotice(t *testing.T) {
	msg, err := ComposeTwoStepNotice(TwoStepNotice{OrgName: "Acme <Corp>", FirstName: "Mary",
		Subject: "Your two-step verification was reset", What: "Adam Admin reset your two-step verification",
		Next: "Your next sign-in asks for your password alone.", At: time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC),
		IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg.HTML, "Acme &lt;Corp&gt;") {
		t.Fatal("the HTML email does not escape the organization's name")
	}
	golden(t, "two_step_notice.subject", msg.Subject)
	golden(t, "two_step_notice.txt", msg.Text)
	golden(t, "two_step_notice.html", msg.HTML)
}
