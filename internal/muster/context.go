package muster

import "context"

// Principal is who is asking, as an interface established it: a signed-in
// user, an API token's creator, an identity provider's SCIM token, or an
// operator at the command line. The
// service loads the principal's current role and status inside each
// transaction, so a role change or deactivation applies to the very next
// request (ROLE-3, DEA-1).
type Principal struct {
	// UserID is the signed-in user; 0 for an operator, who acts with the
	// Owner's powers in OrgID, and for a SCIM token.
	UserID int64
	OrgID  int64
	// SCIMTokenID is the SCIM token an identity provider provisions with
	// (SCIM-1); 0 for anyone else. Such a principal acts as RoleProvisioner:
	// it manages users up to Admin and teams, never with the Owner's powers
	// and never on the Owner.
	SCIMTokenID int64
	// Origin says where the request came from, for the audit log
	// ("web 192.0.2.1", "cli", "api token 7", "scim token 3").
	Origin string
	// User, when not nil, is the user UserID as the request's
	// authentication read them a moment ago (Active then). The service's
	// reads act as them without reading them again; its changes read
	// them again inside their transaction.
	User *User
	// UserListVersion, when not 0, is the org's user-list version as the
	// request's authentication read it with User, before any other read of
	// the request. The service's reads of the list take it as the version
	// they read before the page (see service.FindUsers).
	UserListVersion int64
	// SCIMToken, when not nil, is the SCIM token SCIMTokenID as the
	// request's authentication read it a moment ago (live then). The
	// service's reads act as it without reading it again; its changes read
	// it again inside their transaction.
	SCIMToken *SCIMToken
}

// IsOperator reports whether p is an operator rather than a user or a SCIM
// token.
func (p Principal) IsOperator() bool { return p.UserID == 0 && p.SCIMTokenID == 0 }

// IsSCIM reports whether p is an identity provider's SCIM token.
func (p Principal) IsSCIM() bool { return p.SCIMTokenID != 0 }

// IsUser reports whether p is a signed-in user (or their API token).
func (p Principal) IsUser() bool { return p.UserID != 0 && p.SCIMTokenID == 0 }

type principalKey struct{}

// NewContext returns a context that carries p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
