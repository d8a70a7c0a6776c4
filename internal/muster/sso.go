package muster

import (
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// SSOConnection is an organization's OpenID Connect connection (AUTH-6):
// one per organization.
type SSOConnection struct {
	OrgID    int64
	Issuer   string
	ClientID string
	// SealedSecret is the client secret encrypted with the server's key;
	// the secret itself is never shown, logged or exported.
	SealedSecret []byte
	// Scopes are requested besides openid, email and profile.
	Scopes []string
	// Enabled sends people of the organization's verified domains to the
	// identity provider when they sign in.
	Enabled bool
	// JIT creates an Active Basic User for a person of a verified domain
	// who has none (just-in-time provisioning).
	JIT bool
	// Required refuses password sign-in and reset to the organization's
	// users; their password sessions end (Owner only).
	Required bool
	// Version increases with every change of the issuer, client or scopes,
	// so that a test sign-in counts for the settings it tested.
	Version int64
	// The last successful test sign-in: who ran it, with which Version.
	TestedBy      int64
	TestedVersion int64
	TestedAt      time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// TestedFor reports whether userID's test sign-in succeeded with the
// connection's current settings.
func (c *SSOConnection) TestedFor(userID int64) bool {
	return c.TestedBy == userID && c.TestedVersion == c.Version
}

// SSODomain is an email domain an organization claims. Verified, it routes
// sign-in to the organization's identity provider and lets a first SSO
// sign-in link to the user with the same email.
type SSODomain struct {
	ID     int64
	OrgID  int64
	Domain string
	// Token is the value of the TXT record that proves the claim:
	// muster-verification=<Token>.
	Token         string
	CreatedAt     time.Time
	VerifiedAt    time.Time // zero until verified
	LastCheckedAt time.Time
}

// Verified reports whether the domain is verified.
func (d *SSODomain) Verified() bool { return !d.VerifiedAt.IsZero() }

// TXTRecord is the record the domain's DNS must hold.
func (d *SSODomain) TXTRecord() string { return SSOVerificationPrefix + d.Token }

// SSOVerificationPrefix starts the TXT record that verifies a domain.
const SSOVerificationPrefix = "muster-verification="

// SSOIdentity links a person at an identity provider, (issuer, subject), to
// a Muster user. Only this pair identifies them once linked: never their
// email, which the provider may let them change.
type SSOIdentity struct {
	ID        int64
	OrgID     int64
	UserID    int64
	Issuer    string
	Subject   string
	Email     string // the email the provider gave when the link was made
	CreatedAt time.Time
}

// SSOLogin is a sign-in through the identity provider between the redirect
// there and the callback: kept in the database so that the callback may
// land on any instance. The browser that started it holds a secret whose
// hash is BrowserHash; the PKCE verifier is derived from that secret, so
// this row alone cannot finish the login.
type SSOLogin struct {
	ID          int64
	OrgID       int64
	StateHash   []byte
	BrowserHash []byte
	Nonce       string
	Purpose     string // SSOSignIn or SSOTest
	// UserID is the admin running a test, or the invited user of an
	// invitation accepted through SSO; 0 otherwise.
	UserID int64
	// InvitationID is the invitation being accepted, 0 otherwise.
	InvitationID int64
	// Version is the connection's Version when the login started.
	Version   int64
	Next      string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Purposes of an SSOLogin.
const (
	SSOSignIn = "signin"
	SSOTest   = "test"
)

// Session kinds: how a session was started. Requiring SSO ends password
// sessions; SSO and recovery-code sessions keep working.
const (
	SessionPassword = "password"
	SessionSSO      = "sso"
	SessionRecovery = "recovery"
)

// RecoveryCode is one of the Owner's single-use codes that allow a password
// sign-in while the organization requires SSO. Only its hash is kept.
type RecoveryCode struct {
	ID        int64
	OrgID     int64
	UserID    int64
	CodeHash  []byte
	CreatedAt time.Time
	UsedAt    time.Time
}

// RecoveryCodeCount is how many recovery codes the Owner gets at a time.
const RecoveryCodeCount = 10

// Audit actions of single sign-on.
const (
	ActionSSOConnectionSaved   = "sso.connection_saved"
	ActionSSOEnabled           = "sso.enabled"
	ActionSSODisabled          = "sso.disabled"
	ActionSSOJITChanged        = "sso.jit_changed"
	ActionSSORequired          = "sso.required"
	ActionSSONotRequired       = "sso.not_required"
	ActionSSOTestSucceeded     = "sso.test_succeeded"
	ActionSSOTestFailed        = "sso.test_failed"
	ActionSSODomainAdded       = "sso.domain_added"
	ActionSSODomainVerified    = "sso.domain_verified"
	ActionSSODomainFailed      = "sso.domain_verification_failed"
	ActionSSODomainUnverified  = "sso.domain_unverified"
	ActionSSODomainRemoved     = "sso.domain_removed"
	ActionSSOIdentityLinked    = "sso.identity_linked"
	ActionSSOUserProvisioned   = "sso.user_provisioned"
	ActionSSOSignInRefused     = "sso.signin_refused"
	ActionSSORecoveryCodesMade = "sso.recovery_codes_generated"
	ActionSSORecoveryCodeUsed  = "sso.recovery_code_used"
	ActionSSOBackChannelLogout = "sso.backchannel_logout"
)

// Audit targets of single sign-on.
const (
	TargetSSOConnection = "sso_connection"
	TargetSSODomain     = "sso_domain"
)

// ReasonSSORequired: a password was right, but the user's organization
// requires single sign-on.
const ReasonSSORequired = "sso_required"

// Field names of the single sign-on settings.
const (
	FieldIssuer       = "issuer"
	FieldClientID     = "client_id"
	FieldClientSecret = "client_secret"
	FieldScopes       = "scopes"
	FieldDomain       = "domain"
	FieldRecoveryCode = "recovery_code"
)

// Length limits of the single sign-on settings.
const (
	maxIssuerLength       = 500
	maxClientIDLength     = 500
	maxClientSecretLength = 2000
	maxScopesLength       = 500
	maxDomainLength       = 253
)

const (
	ssoScopeChars               = "!#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"
	ssoLoopbackHTTPExplanation  = "an https:// URL (http:// only for a provider on this machine, such as a test one)"
	ssoIssuerShapeExplanation   = "the issuer URL your identity provider shows, like https://login.example.com"
	ssoDomainShapeExplanation   = "a domain name like example.com"
	ssoClientIDShapeExplanation = "the client ID (application ID) your identity provider shows"
)

// CheckIssuer validates an issuer URL: absolute, https (http only on a
// loopback host), no query or fragment. Discovery reads
// <issuer>/.well-known/openid-configuration.
func CheckIssuer(v *Validation, issuer string) {
	if issuer == "" {
		v.Add(FieldIssuer, "Issuer URL is required: "+ssoIssuerShapeExplanation+".")
		return
	}
	if problem := TextProblem(issuer); problem != "" || strings.ContainsAny(issuer, " ") || len(issuer) > maxIssuerLength {
		v.Add(FieldIssuer, "Issuer URL must be "+ssoIssuerShapeExplanation+".")
		return
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		v.Add(FieldIssuer, "Issuer URL must be "+ssoIssuerShapeExplanation+".")
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopbackHost(u.Hostname()) {
			v.Add(FieldIssuer, "Issuer URL must be "+ssoLoopbackHTTPExplanation+".")
		}
	default:
		v.Add(FieldIssuer, "Issuer URL must be "+ssoLoopbackHTTPExplanation+".")
	}
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckClientID validates an OAuth client ID.
func CheckClientID(v *Validation, id string) {
	if id == "" || TextProblem(id) != "" || strings.ContainsAny(id, " ") || len(id) > maxClientIDLength {
		v.Add(FieldClientID, "Client ID must be "+ssoClientIDShapeExplanation+".")
	}
}

// CheckClientSecret validates a client secret being set.
func CheckClientSecret(v *Validation, secret string) {
	if secret == "" {
		v.Add(FieldClientSecret, "Client secret is required.")
	} else if TextProblem(secret) != "" || len(secret) > maxClientSecretLength {
		v.Add(FieldClientSecret, "Client secret must be the secret your identity provider shows, on one line.")
	}
}

// ParseScopes splits extra scopes typed as a space- or comma-separated list,
// leaving out the ones Muster always asks for (openid, email, profile).
func ParseScopes(v *Validation, s string) []string {
	if len(s) > maxScopesLength || TextProblem(s) != "" {
		v.Add(FieldScopes, "Extra scopes must be at most 500 characters of scope names.")
		return nil
	}
	var out []string
	for _, sc := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' }) {
		if strings.Trim(sc, ssoScopeChars) != "" {
			v.Add(FieldScopes, "Extra scopes are names like groups or offline_access, separated by spaces.")
			return nil
		}
		switch sc {
		case "openid", "email", "profile":
			continue
		}
		if !containsString(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NormalizeDomain is the form in which email domains are compared: trimmed,
// lower case, without a trailing dot.
func NormalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// CheckDomain validates a domain that NormalizeDomain has normalized: at
// least two labels of letters, digits and hyphens (internationalized domains
// in their xn-- form).
func CheckDomain(v *Validation, d string) {
	if !ValidDomain(d) {
		v.Add(FieldDomain, "Domain must be "+ssoDomainShapeExplanation+" (an internationalized one in its xn-- form).")
	}
}

// ValidDomain reports whether d is a normalized domain name.
func ValidDomain(d string) bool {
	if d == "" || len(d) > maxDomainLength || !utf8.ValidString(d) {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// EmailDomain is the normalized domain of an email address, "" when it has
// none.
func EmailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return NormalizeDomain(email[at+1:])
}
