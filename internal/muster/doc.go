// Package muster is Muster's domain: the types every other package speaks
// (Org, User, Team, SendAsPermission, AuditEvent…), the refusal type Error
// with its codes and the field names it uses, the pure policy functions
// that decide SPEC §2 and §3 from plain values (CheckUserAction,
// CheckEditUser, CheckGrantRole, CheckTransition), the checks of names,
// emails and passwords, the Principal a request carries, and the Store and
// Tx interfaces that the stores implement.
//
// It imports nothing of Muster's and knows no transport: no HTTP, no SQL.
// The service layer (package service) applies the policy inside the
// transactions that write; the interfaces (web, api, cli) render its
// refusals in their own forms.
package muster
