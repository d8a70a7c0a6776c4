package muster

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Every refusal the service makes carries one of these; each
// interface (console, API, SCIM, CLI) maps the code to its own form of answer.
const (
	EINVALID      = "invalid"      // the input is malformed or breaks a rule about its shape
	ENOTFOUND     = "not_found"    // no such thing, or not in the actor's organization
	ECONFLICT     = "conflict"     // the request clashes with the current state
	EFORBIDDEN    = "forbidden"    // the actor may not do this
	EUNAUTHORIZED = "unauthorized" // no valid identity
	ESEATS        = "seat_limit"   // no license seat is free
	EGONE         = "gone"         // a link that has expired, been used or been withdrawn
	ETOOMANY      = "rate_limited" // too many attempts; try again later
	ESTALE        = "stale"        // the resource changed since the client read it (If-Match)
	EINTERNAL     = "internal"     // a fault; never shown in detail
)

// Reasons refine a code where an interface needs to tell cases apart.
const (
	// ReasonTeamInUse: a team can't be removed while it is someone's
	// primary team (TEAM-3); the console links to those users.
	ReasonTeamInUse = "team_in_use"
)

// Error is a refusal with a code and a message an administrator understands.
// Fields holds per-field messages for forms that show errors beside inputs.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Reason refines Code where an interface needs to tell cases apart (for
	// EGONE: "expired", "used", "withdrawn", "superseded").
	Reason string
	// Err is the cause, for logs: a store's own error behind a refusal.
	// It is never shown to the person refused.
	Err error
	// RetryAfter, for ETOOMANY, is how long to wait before trying again.
	RetryAfter time.Duration
}

// FieldError is a message about one input field.
type FieldError struct {
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("muster: %s: %s (%v)", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("muster: %s: %s", e.Code, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadCursor is the refusal of a page cursor that no page of the list
// handed out, or that names no place in it.
func BadCursor() *Error {
	return Errorf(EINVALID, "The page cursor is not valid. Start again from the first page.")
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error,
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorRetryAfter returns how long err says to wait before trying again:
// its RetryAfter, 0 for none.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// ErrorMessage returns the message that may be shown to a user: the *Error's
// message, or a generic sentence for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong on our side. Please try again."
}

// ErrorFields returns the per-field messages of err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Validation collects field errors and turns them into one EINVALID error.
type Validation struct {
	fields []FieldError
}

// Add records a message for field.
func (v *Validation) Add(field, message string) {
	v.fields = append(v.fields, FieldError{Field: field, Message: message})
}

// Has reports whether field already has a message.
func (v *Validation) Has(field string) bool {
	for _, f := range v.fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns nil when nothing was added, or an EINVALID error whose message is
// the first field's message.
func (v *Validation) Err() error {
	if len(v.fields) == 0 {
		return nil
	}
	msg := v.fields[0].Message
	switch n := len(v.fields) - 1; {
	case n == 1:
		msg += " (and 1 more problem)"
	case n > 1:
		msg = fmt.Sprintf("%s (and %d more problems)", msg, n)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: v.fields}
}
