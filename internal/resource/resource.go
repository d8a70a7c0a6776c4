// Package resource holds Muster's objects as its JSON shows them: the
// API's responses (internal/api) and the data of webhook events, which the
// service writes in the transaction of the change they report. One shape
// each, so that an event carries a user exactly as GET /api/v1/users/{id}
// does; api/openapi.json describes them.
package resource

import (
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// User is a user.
type User struct {
	ID               int64      `json:"id"`
	Email            string     `json:"email"`
	FirstName        string     `json:"first_name"`
	LastName         string     `json:"last_name"`
	Role             string     `json:"role"`
	Status           string     `json:"status"`
	PrimaryTeamID    int64      `json:"primary_team_id"`
	SecondaryTeamIDs []int64    `json:"secondary_team_ids"`
	InvitedAt        *Timestamp `json:"invited_at"`
	InvitedByID      *int64     `json:"invited_by_id"`
	ActivatedAt      *Timestamp `json:"activated_at"`
	DeactivatedAt    *Timestamp `json:"deactivated_at"`
	LastSignInAt     *Timestamp `json:"last_sign_in_at"`
	Version          int64      `json:"version"`
}

// Timestamp is a time as the API and webhooks write it: RFC 3339 in UTC,
// as time.Time's own JSON. It is an encoding.TextMarshaler rather than a
// json.Marshaler because encoding/json re-reads (compacts) what a Marshaler
// returns: the times of a page of 50 users took 40% of its encoding.
type Timestamp time.Time

// MarshalText implements encoding.TextMarshaler.
func (t Timestamp) MarshalText() ([]byte, error) { return time.Time(t).MarshalText() }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Timestamp) UnmarshalText(b []byte) error { return (*time.Time)(t).UnmarshalText(b) }

// Time is t in UTC, or nil for the zero time (JSON null).
func Time(t time.Time) *Timestamp {
	if t.IsZero() {
		return nil
	}
	ts := Timestamp(t.UTC())
	return &ts
}

// FromUser is u as the API shows it.
func FromUser(u *muster.User) User {
	j := User{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Role: string(u.Role),
		Status: string(u.Status), PrimaryTeamID: u.PrimaryTeamID, SecondaryTeamIDs: u.SecondaryTeamIDs,
		InvitedAt: Time(u.InvitedAt), ActivatedAt: Time(u.ActivatedAt), DeactivatedAt: Time(u.DeactivatedAt),
		LastSignInAt: Time(u.LastSignInAt), Version: u.Version}
	if j.SecondaryTeamIDs == nil {
		j.SecondaryTeamIDs = []int64{}
	}
	if u.InvitedByID != 0 {
		j.InvitedByID = &u.InvitedByID
	}
	return j
}

// Team is a team with its Pending and Active members' counts.
type Team struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	IsDefault      bool   `json:"is_default"`
	PrimaryCount   int    `json:"primary_count"`
	SecondaryCount int    `json:"secondary_count"`
}

// FromTeam is t as the API shows it.
func FromTeam(t *muster.Team) Team {
	return Team{ID: t.ID, Name: t.Name, IsDefault: t.IsDefault, PrimaryCount: t.PrimaryCount, SecondaryCount: t.SecondaryCount}
}

// License is an organization's license usage.
type License struct {
	Total     int `json:"total"`
	Used      int `json:"used"`
	Remaining int `json:"remaining"`
}

// FromOrg is o's license usage.
func FromOrg(o *muster.Org) License {
	return License{Total: o.LicenseTotal, Used: o.SeatsUsed, Remaining: o.SeatsFree()}
}

// OwnershipTransfer is a transfer of ownership that took place.
type OwnershipTransfer struct {
	Owner         User `json:"owner"`
	PreviousOwner User `json:"previous_owner"`
}

// AuditEvent is an entry of the audit log.
type AuditEvent struct {
	ID         int64          `json:"id"`
	ActorID    *int64         `json:"actor_id"`
	Actor      string         `json:"actor"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   int64          `json:"target_id"`
	Target     string         `json:"target"`
	Before     map[string]any `json:"before"`
	After      map[string]any `json:"after"`
	Origin     string         `json:"origin"`
	CreatedAt  time.Time      `json:"created_at"`
}

// FromAuditEvent is e as the API shows it.
func FromAuditEvent(e *muster.AuditEvent) AuditEvent {
	j := AuditEvent{ID: e.ID, Actor: e.ActorLabel, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Target: e.TargetLabel, Before: e.Before, After: e.After, Origin: e.Origin, CreatedAt: e.CreatedAt.UTC()}
	if e.ActorID != 0 {
		j.ActorID = &e.ActorID
	}
	return j
}

// SendAs is a Send As permission with the users granted it.
type SendAs struct {
	sendAsAddress
	UserIDs []int64 `json:"user_ids"`
}

// SendAsSummary is a permission as the API lists it: how many users hold
// it rather than who, so that the list stays small when a permission is
// granted to everyone (GET /api/v1/send-as/{id} names them).
type SendAsSummary struct {
	sendAsAddress
	UserCount int `json:"user_count"`
}

// sendAsAddress is a permission's sender address, the part of it that
// SendAs and SendAsSummary share.
type sendAsAddress struct {
	ID           int64   `json:"id"`
	FromName     string  `json:"from_name"`
	FromEmail    string  `json:"from_email"`
	ReplyToName  *string `json:"reply_to_name"`
	ReplyToEmail *string `json:"reply_to_email"`
}

func fromSendAsAddress(p *muster.SendAsPermission) sendAsAddress {
	a := sendAsAddress{ID: p.ID, FromName: p.FromName, FromEmail: p.FromEmail}
	if p.HasReplyTo() {
		a.ReplyToName, a.ReplyToEmail = &p.ReplyToName, &p.ReplyToEmail
	}
	return a
}

// FromSendAs is p as the API shows it.
func FromSendAs(p *muster.SendAsPermission) SendAs {
	j := SendAs{sendAsAddress: fromSendAsAddress(p), UserIDs: p.UserIDs}
	if j.UserIDs == nil {
		j.UserIDs = []int64{}
	}
	return j
}

// FromSendAsSummary is a summary of p (muster.Tx.FindSendAsSummaries) as
// the API lists it.
func FromSendAsSummary(p *muster.SendAsPermission) SendAsSummary {
	return SendAsSummary{sendAsAddress: fromSendAsAddress(p), UserCount: p.UserCount}
}
