package web

import (
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/service"
)

// Paths of the pages that emails link to.
const (
	invitationPath = "/invitations/"
	resetPath      = "/password-reset/"
	reportPath     = "/reports/"
	webhooksPath   = "/settings/webhooks"
)

// Links makes the links that emails carry to the console's pages: the
// service's Links, below the URL people reach Muster at.
type Links struct {
	baseURL string
}

var _ service.Links = Links{}

// NewLinks returns the links below baseURL.
func NewLinks(baseURL string) Links {
	return Links{baseURL: strings.TrimRight(baseURL, "/")}
}

// Invitation is the link that accepts an invitation (INV-4).
func (l Links) Invitation(token string) string { return l.baseURL + invitationPath + token }

// PasswordReset is the link that sets a new password (AUTH-2).
func (l Links) PasswordReset(token string) string { return l.baseURL + resetPath + token }

// ReportDownload is the link that downloads a finished report (AUD-2).
func (l Links) ReportDownload(id int64) string {
	return l.baseURL + reportPath + strconv.FormatInt(id, 10) + "/download"
}

// Webhook is the page of a webhook endpoint (EVT-1).
func (l Links) Webhook(id int64) string {
	return l.baseURL + webhooksPath + "/" + strconv.FormatInt(id, 10)
}
