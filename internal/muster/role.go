package muster

// Role is a user's role in an organization. Roles are cumulative: each can do
// what the ones below it can.
type Role string

const (
	RoleOwner   Role = "owner"
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleBasic   Role = "basic"
)

// RoleProvisioner is not a user's role: it is how an identity provider's
// SCIM token acts (SCIM-1). It does what an IdP needs — invites, edits and
// deactivates users up to Admin, manages teams — but has none of the
// Owner's powers (the license total, Email at Scale, ownership, the
// mailbox) and never acts on the Owner. No user ever has it: ParseRole does
// not know it and Roles does not list it.
const RoleProvisioner Role = "provisioner"

// Roles lists every role from the highest to the lowest.
var Roles = []Role{RoleOwner, RoleAdmin, RoleManager, RoleBasic}

// ParseRole returns the role named s (its code, e.g. "basic").
func ParseRole(s string) (Role, bool) {
	for _, r := range Roles {
		if string(r) == s {
			return r, true
		}
	}
	return "", false
}

// Label is the role's name as the console shows it.
func (r Role) Label() string {
	switch r {
	case RoleOwner:
		return "Owner"
	case RoleAdmin:
		return "Admin"
	case RoleManager:
		return "Manager"
	case RoleBasic:
		return "Basic User"
	case RoleProvisioner:
		return "SCIM provisioning"
	}
	return string(r)
}

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 5
	case RoleProvisioner:
		return 4
	case RoleAdmin:
		return 3
	case RoleManager:
		return 2
	case RoleBasic:
		return 1
	}
	return 0
}

// AtLeast reports whether r is other or above it.
func (r Role) AtLeast(other Role) bool { return r.rank() >= other.rank() }

// CanAdminister reports whether the role may open Settings → Roles & Access:
// manage users and teams, see the license counter, download the user list and
// manage Send As permissions (SPEC §2).
func CanAdminister(r Role) bool { return r.AtLeast(RoleAdmin) }

// CanGrantRole reports whether an actor with role actor may give a user role
// target, by invitation or by edit. Nobody grants Owner: ownership moves only
// by transfer (OWN-1). Admins grant up to Manager; the Owner and an
// identity provider (RoleProvisioner) up to Admin.
func CanGrantRole(actor, target Role) bool {
	switch actor {
	case RoleOwner, RoleProvisioner:
		return target == RoleAdmin || target == RoleManager || target == RoleBasic
	case RoleAdmin:
		return target == RoleManager || target == RoleBasic
	}
	return false
}

// CanManageUser reports whether an actor with role actor may resend, withdraw,
// edit or deactivate a user whose current role is target. The Owner is managed
// by nobody but themself, and only through ownership transfer for role changes.
func CanManageUser(actor, target Role) bool {
	return CanGrantRole(actor, target)
}

// GrantableRoles lists the roles an actor may give, highest first.
func GrantableRoles(actor Role) []Role {
	var out []Role
	for _, r := range Roles {
		if CanGrantRole(actor, r) {
			out = append(out, r)
		}
	}
	return out
}
