// Package web serves Muster's browser pages and the operational endpoints
// (/healthz, /readyz, /metrics). Handlers parse a request, call one service
// method and render a page; every rule lives in the service.
package web

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/muster-app/muster/internal/service"
)

//go:embed static
var staticFS embed.FS

// Pinger is the database, as /readyz sees it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is what the web server is built from.
type Config struct {
	Service *service.Service
	// DB is pinged by /readyz.
	DB  Pinger
	Log *slog.Logger
	// API, when set, serves everything under /api/v1/.
	API http.Handler
	// SCIM, when set, serves everything under /scim/v2/ (package scim).
	SCIM http.Handler
	// Mailbox says that no SMTP server is configured, so email stays in the
	// local mailbox; pages that mention sent email say so.
	Mailbox bool
	// BaseURL is where people reach Muster; an https one makes session
	// cookies Secure and adds Strict-Transport-Security to every response.
	BaseURL string
	// Region is this deployment's region; Regions are the others, offered
	// on the sign-in page (AUTH-4).
	Region  string
	Regions []RegionLink
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (see clientIP); empty trusts none.
	TrustedProxies []netip.Prefix
}

// ReadyTimeout bounds the database ping of /readyz.
const ReadyTimeout = 2 * time.Second

// ContentSecurityPolicy is sent with every response. Pages have no inline
// script or style.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// StrictTransportSecurity is sent when the base URL is https: a year, the
// figure browsers' preload lists ask for. Without includeSubDomains, since
// other hosts under the same domain are not Muster's to decide for.
const StrictTransportSecurity = "max-age=31536000"

// Server is Muster's HTTP handler.
type Server struct {
	svc     *service.Service
	db      Pinger
	log     *slog.Logger
	pages   *pages
	mailbox bool
	// secureCookies is set when Muster is served over HTTPS; it also sends
	// Strict-Transport-Security.
	secureCookies bool
	// baseURL is --base-url, without a trailing slash; empty when unset.
	baseURL string
	region  string
	regions []RegionLink
	mux     *http.ServeMux
	metrics *metrics
	handler http.Handler

	// trustedProxies are the peers whose X-Forwarded-For is believed.
	trustedProxies []netip.Prefix
}

// New builds the server, parsing its templates; it fails if one is missing
// or broken.
func New(cfg Config) (*Server, error) {
	pg, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		svc:           cfg.Service,
		db:            cfg.DB,
		log:           cfg.Log,
		pages:         pg,
		mailbox:       cfg.Mailbox,
		secureCookies: strings.HasPrefix(cfg.BaseURL, "https://"),
		baseURL:       strings.TrimRight(cfg.BaseURL, "/"),
		region:        cfg.Region,
		regions:       cfg.Regions,
		mux:           http.NewServeMux(),
		metrics:       newMetrics(cfg.DB),
	}
	s.trustedProxies = cfg.TrustedProxies
	if s.log == nil {
		s.log = slog.Default()
	}
	s.routes(cfg.API, cfg.SCIM)

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.handleCrossOrigin))
	s.handler = s.observe(securityHeaders(csrf.Handler(s.mux), s.secureCookies))
	return s, nil
}

// Registry is the Prometheus registry /metrics serves, for collectors of
// other parts of the process.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.registry }

// routes registers every page, by method and path.
func (s *Server) routes(api, scim http.Handler) {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServerFS(static)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))

	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", s.metrics.handler())

	s.mux.HandleFunc("GET /{$}", s.handleHome)
	s.mux.HandleFunc("GET /setup", s.handleSetupForm)
	s.mux.HandleFunc("POST /setup", s.handleSetupCreate)

	s.mux.HandleFunc("GET /signin", s.handleSignInForm)
	s.mux.HandleFunc("POST /signin", s.handleSignIn)
	s.mux.HandleFunc("GET /signin/region", s.handleRegion)
	s.mux.HandleFunc("GET /signin/recovery", s.handleRecoveryForm)
	s.mux.HandleFunc("POST /signin/recovery", s.handleRecoverySignIn)
	s.mux.HandleFunc("GET "+service.SSOCallbackPath, s.handleSSOCallback)
	s.mux.HandleFunc("POST "+service.SSOLogoutPath, s.handleBackChannelLogout)
	s.mux.HandleFunc("POST "+invitationPath+"{token}/sso", s.handleInvitationSSO)
	s.mux.HandleFunc("POST /signout", s.handleSignOut)
	s.mux.HandleFunc("GET "+invitationPath+"{token}", s.handleInvitationForm)
	s.mux.HandleFunc("POST "+invitationPath+"{token}", s.handleInvitationAccept)
	s.mux.HandleFunc("GET /password-reset", s.handleResetRequestForm)
	s.mux.HandleFunc("POST /password-reset", s.handleResetRequest)
	s.mux.HandleFunc("GET "+resetPath+"{token}", s.handleResetForm)
	s.mux.HandleFunc("POST "+resetPath+"{token}", s.handleReset)
	s.mux.HandleFunc("GET "+welcomePath, s.requireUser(s.handleWelcome))
	s.mux.HandleFunc("GET /account/sessions", s.requireUser(s.handleSessions))
	s.mux.HandleFunc("POST /account/sessions/{id}/revoke", s.requireUser(s.handleSessionRevoke))
	s.mux.HandleFunc("GET /account/password", s.requireUser(s.handlePasswordForm))
	s.mux.HandleFunc("POST /account/password", s.requireUser(s.handlePasswordChange))
	s.mux.HandleFunc("GET "+reportPath+"{id}/download", s.requireUser(s.handleReportDownload))
	s.mux.HandleFunc("GET /settings", s.requireUser(s.handleSettings))
	s.mux.HandleFunc("GET "+usersPath, s.requireUser(s.handleUsers))
	s.mux.HandleFunc("GET "+usersPath+"/users/invite", s.requireUser(s.handleInviteForm))
	s.mux.HandleFunc("POST "+usersPath+"/users/invite", s.requireUser(s.handleInvite))
	s.mux.HandleFunc("POST "+usersPath+"/users/download", s.requireUser(s.handleDownloadUsers))
	s.mux.HandleFunc("POST "+usersPath+"/users/bulk", s.requireUser(s.handleBulk))
	s.importRoutes()
	s.mux.HandleFunc("GET "+usersPath+"/users/{id}", s.requireUser(s.handleUserPage))
	s.mux.HandleFunc("POST "+usersPath+"/users/{id}/resend", s.requireUser(s.handleResend))
	s.mux.HandleFunc("POST "+usersPath+"/users/{id}/invite-link", s.requireUser(s.handleCopyInviteLink))
	s.mux.HandleFunc("POST "+usersPath+"/users/{id}/sign-out", s.requireUser(s.handleSignOutEverywhere))
	s.mux.HandleFunc("GET "+usersPath+"/users/{id}/two-step-reset", s.requireUser(s.handleResetTwoStepConfirm))
	s.mux.HandleFunc("POST "+usersPath+"/users/{id}/two-step-reset", s.requireUser(s.handleResetTwoStep))
	for action := range userActions {
		s.mux.HandleFunc("GET "+usersPath+"/users/{id}/"+action, s.requireUser(s.handleUserConfirm(action)))
		s.mux.HandleFunc("POST "+usersPath+"/users/{id}/"+action, s.requireUser(s.handleUserAction(action)))
	}
	s.mux.HandleFunc("GET "+usersPath+"/users/{id}/edit", s.requireUser(s.handleEditForm))
	s.mux.HandleFunc("POST "+usersPath+"/users/{id}/edit", s.requireUser(s.handleEdit))
	s.mux.HandleFunc("GET "+teamsPath, s.requireUser(s.handleTeams))
	s.mux.HandleFunc("POST "+teamsPath, s.requireUser(s.handleTeamCreate))
	s.mux.HandleFunc("GET "+teamsPath+"/{id}/rename", s.requireUser(s.handleTeamRenameForm))
	s.mux.HandleFunc("POST "+teamsPath+"/{id}/rename", s.requireUser(s.handleTeamRename))
	s.mux.HandleFunc("GET "+teamsPath+"/{id}/remove", s.requireUser(s.handleTeamRemoveConfirm))
	s.mux.HandleFunc("POST "+teamsPath+"/{id}/remove", s.requireUser(s.handleTeamRemove))
	s.mux.HandleFunc("GET "+sendAsPath, s.requireUser(s.handleSendAsList))
	s.mux.HandleFunc("GET "+sendAsPath+"/new", s.requireUser(s.handleSendAsNew))
	s.mux.HandleFunc("POST "+sendAsPath+"/new", s.requireUser(s.handleSendAsCreate))
	s.mux.HandleFunc("GET "+sendAsPath+"/{id}/edit", s.requireUser(s.handleSendAsEditForm))
	s.mux.HandleFunc("POST "+sendAsPath+"/{id}/edit", s.requireUser(s.handleSendAsEdit))
	s.mux.HandleFunc("GET "+sendAsPath+"/{id}/delete", s.requireUser(s.handleSendAsDeleteConfirm))
	s.mux.HandleFunc("POST "+sendAsPath+"/{id}/delete", s.requireUser(s.handleSendAsDelete))
	s.mux.HandleFunc("GET /settings/organization", s.requireUser(s.handleOrg))
	s.mux.HandleFunc("POST /settings/organization/licenses", s.requireUser(s.handleOrgLicenses))
	s.mux.HandleFunc("POST /settings/organization/email-at-scale", s.requireUser(s.handleOrgEmailAtScale))
	s.mux.HandleFunc("POST /settings/organization/sign-in-security", s.requireUser(s.handleOrgTwoStep))
	s.mux.HandleFunc("GET /settings/organization/transfer", s.requireUser(s.handleTransferConfirm))
	s.mux.HandleFunc("POST /settings/organization/transfer", s.requireUser(s.handleTransfer))
	s.mux.HandleFunc("GET /settings/audit-log", s.requireUser(s.handleAuditLog))
	s.mux.HandleFunc("GET /settings/audit-log.csv", s.requireUser(s.handleAuditExport))
	s.mux.HandleFunc("GET /settings/api-tokens", s.requireUser(s.handleAPITokens))
	s.mux.HandleFunc("POST /settings/api-tokens", s.requireUser(s.handleAPITokenCreate))
	s.mux.HandleFunc("GET /settings/api-tokens/{id}/revoke", s.requireUser(s.handleAPITokenRevokeConfirm))
	s.mux.HandleFunc("POST /settings/api-tokens/{id}/revoke", s.requireUser(s.handleAPITokenRevoke))
	s.mux.HandleFunc("GET /settings/sso", s.requireUser(s.handleSSOSettings))
	s.mux.HandleFunc("POST /settings/sso", s.requireUser(s.handleSSOSave))
	s.mux.HandleFunc("POST /settings/sso/test", s.requireUser(s.handleSSOTest))
	s.mux.HandleFunc("POST /settings/sso/enabled", s.requireUser(s.handleSSOEnabled))
	s.mux.HandleFunc("POST /settings/sso/jit", s.requireUser(s.handleSSOJIT))
	s.mux.HandleFunc("POST /settings/sso/require", s.requireUser(s.handleSSORequire))
	s.mux.HandleFunc("POST /settings/sso/recovery-codes", s.requireUser(s.handleSSORecoveryCodes))
	s.mux.HandleFunc("GET /settings/domains", s.requireUser(s.handleSSODomains))
	s.mux.HandleFunc("POST /settings/domains", s.requireUser(s.handleSSODomainAdd))
	s.mux.HandleFunc("POST /settings/domains/{id}/verify", s.requireUser(s.handleSSODomainVerify))
	s.mux.HandleFunc("POST /settings/domains/{id}/remove", s.requireUser(s.handleSSODomainRemove))
	s.mux.HandleFunc("GET /settings/provisioning", s.requireUser(s.handleProvisioning))
	s.mux.HandleFunc("POST /settings/provisioning/tokens", s.requireUser(s.handleSCIMTokenCreate))
	s.mux.HandleFunc("POST /settings/provisioning/tokens/{id}/revoke", s.requireUser(s.handleSCIMTokenRevoke))
	s.mux.HandleFunc("GET /settings/mailbox", s.requireUser(s.handleMailbox))
	s.mux.HandleFunc("GET /settings/mailbox/{id}", s.requireUser(s.handleMailboxMessage))
	s.webhookRoutes()
	s.twoStepRoutes()
	s.passkeyRoutes()

	if api != nil {
		s.mux.Handle("/api/v1/", api)
	}
	if scim != nil {
		s.mux.Handle("/scim/v2/", scim)
	}
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// handleHealthz says the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte("ok"))
}

// handleReadyz says the database answers within ReadyTimeout.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	ctx, cancel := context.WithTimeout(r.Context(), ReadyTimeout)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Warn("readyz: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unreachable"))
		return
	}
	w.Write([]byte("ok"))
}
