// Package mail composes Muster's emails from templates and holds the
// transports that deliver them: SMTP, or the local mailbox when none is set.
// The sender that works through the outbox is in package worker.
package mail

import (
	"bytes"
	"embed"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
)

//go:embed templates
var templateFS embed.FS

var (
	textTemplates = texttemplate.Must(texttemplate.New("").ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").ParseFS(templateFS, "templates/*.html"))
)

// Message is a composed email.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// Invitation is what the invitation email says (INV-3).
type Invitation struct {
	OrgName     string
	InviterName string // empty when an operator set up the org
	FirstName   string
	Email       string
	Link        string
	ExpiresAt   time.Time
	// Owner marks the Owner's set-up email.
	Owner bool
	// SSO says that the organization signs in with single sign-on, which
	// the invitee joins through instead of choosing a password.
	SSO bool
}

// Expires is the link's expiry as the email prints it.
func (i Invitation) Expires() string { return formatExpiry(i.ExpiresAt) }

// ComposeInvitation renders the invitation email.
func ComposeInvitation(inv Invitation) (*Message, error) {
	subject := "You're invited to join " + inv.OrgName + " on Muster"
	if inv.InviterName != "" {
		subject = inv.InviterName + " invited you to join " + inv.OrgName + " on Muster"
	}
	return compose("invitation", subject, inv)
}

func compose(name, subject string, data any) (*Message, error) {
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return nil, err
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html", data); err != nil {
		return nil, err
	}
	return &Message{Subject: strings.TrimSpace(subject), Text: text.String(), HTML: html.String()}, nil
}

// PasswordReset is what the password reset email says (AUTH-2).
type PasswordReset struct {
	OrgName   string
	FirstName string
	Link      string
	ExpiresAt time.Time
}

// Expires is the link's expiry as the email prints it.
func (p PasswordReset) Expires() string {
	return formatExpiry(p.ExpiresAt)
}

// ComposePasswordReset renders the password reset email.
func ComposePasswordReset(p PasswordReset) (*Message, error) {
	return compose("password_reset", "Reset your Muster password", p)
}

// ReportReady is what the email about a finished user list says (AUD-1).
type ReportReady struct {
	OrgName   string
	FirstName string
	Rows      int
	Link      string
	ExpiresAt time.Time
}

// Expires is the link's expiry as the email prints it.
func (r ReportReady) Expires() string { return formatExpiry(r.ExpiresAt) }

// ComposeReportReady renders the email with the user list's link.
func ComposeReportReady(r ReportReady) (*Message, error) {
	return compose("report_ready", "Your user list of "+r.OrgName+" is ready", r)
}

// ReportFailed is what the email about a user list that could not be made
// says: its requester was told it would come by email.
type ReportFailed struct {
	OrgName   string
	FirstName string
}

// ComposeReportFailed renders the email that says a user list failed.
func ComposeReportFailed(r ReportFailed) (*Message, error) {
	return compose("report_failed", "Your user list of "+r.OrgName+" could not be prepared", r)
}

// RecoveryCodeUsed is what the email to the Owner and the Admins says when
// the Owner signed in with a recovery code while single sign-on is
// required (AUTH-6).
type RecoveryCodeUsed struct {
	OrgName   string
	FirstName string // the recipient's
	OwnerName string
	At        time.Time
	IP        string
	Left      int
}

// When is the sign-in's time as the email prints it.
func (r RecoveryCodeUsed) When() string { return formatExpiry(r.At) }

// ComposeRecoveryCodeUsed renders the email about a used recovery code.
func ComposeRecoveryCodeUsed(r RecoveryCodeUsed) (*Message, error) {
	return compose("recovery_code_used", r.OwnerName+" signed in to "+r.OrgName+" with a recovery code", r)
}

// WebhookDisabled is what the email about an endpoint Muster disabled says
// (EVT-1): to each Owner and Admin.
type WebhookDisabled struct {
	OrgName   string
	FirstName string
	URL       string
	// Reason says why, in a sentence.
	Reason string
	// Link opens the endpoint's page in the console.
	Link string
}

// ComposeWebhookDisabled renders the email about a disabled endpoint.
func ComposeWebhookDisabled(w WebhookDisabled) (*Message, error) {
	return compose("webhook_disabled", "A webhook endpoint of "+w.OrgName+" was disabled", w)
}

func formatExpiry(t time.Time) string { return t.UTC().Format("January 2, 2006 at 15:04 UTC") }

// TwoStepNotice is what the email to a person says about a change of their
// two-step verification they should know of (AUTH-7): a recovery code used,
// their factors reset by an Admin.
type TwoStepNotice struct {
	OrgName   string
	FirstName string
	// Subject is the email's subject; What says what happened, in a
	// sentence; Next says what to do now.
	Subject, What, Next string
	At                  time.Time
	IP                  string
}

// When is the change's time as the email prints it.
func (n TwoStepNotice) When() string { return formatExpiry(n.At) }

// ComposeTwoStepNotice renders an email about a person's two-step
// verification.
func ComposeTwoStepNotice(n TwoStepNotice) (*Message, error) {
	return compose("two_step_notice", n.Subject, n)
}
