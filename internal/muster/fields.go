package muster

// Field names, which a refusal's FieldErrors use to say which input a
// message is about. They are the property names of the API's request bodies;
// the console and the command line map them to their own inputs (a form's
// input, a flag), each in one place.
const (
	FieldName             = "name" // of a team, an API token or an organization
	FieldFirstName        = "first_name"
	FieldLastName         = "last_name"
	FieldEmail            = "email"
	FieldRole             = "role"
	FieldPrimaryTeamID    = "primary_team_id"
	FieldSecondaryTeamIDs = "secondary_team_ids"
	FieldLicenseTotal     = "total"
	FieldRegion           = "region"
	FieldFromName         = "from_name"
	FieldFromEmail        = "from_email"
	FieldReplyToName      = "reply_to_name"
	FieldReplyToEmail     = "reply_to_email"
	FieldUserIDs          = "user_ids"
	FieldPassword         = "password"
	FieldCurrentPassword  = "current_password"
	FieldExpiresAt        = "expires_at"
	FieldExternalID       = "external_id" // an identity provider's id of a user or team (SCIM)
)

// Field names of webhook endpoints (EVT-1).
const (
	FieldURL          = "url"
	FieldDescription  = "description"
	FieldEventTypes   = "event_types"
	FieldOverlapHours = "overlap_hours"
	FieldSince        = "since"
)

// FieldErrorf returns an *Error with code whose message is also shown
// beside field.
func FieldErrorf(code, field, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Fields = []FieldError{{Field: field, Message: e.Message}}
	return e
}

// FieldPasskey is a passkey's answer to a confirmation (two-step
// verification).
const FieldPasskey = "passkey"
