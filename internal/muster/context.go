package muster

import "context"

// Principal is who is asking, as an interface established it: a signed-in
// user, an API token's creator, or an operator at the command line. The
// service loads the principal's current role and status inside each
// transaction, so a role change or deactivation applies to the very next
// request (ROLE-3, DEA-1).
type Principal struct {
	// UserID is the signed-in user; 0 for an operator, who acts with the
	// Owner's powers in OrgID.
	UserID int64
	OrgID  int64
	// Origin says where the request came from, for the audit log
	// ("web 192.0.2.1", "cli", "api token 7").
	Origin string
}

// IsOperator reports whether p is an operator rather than a user.
func (p Principal) IsOperator() bool { return p.UserID == 0 }

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
