package muster

import "time"

// SendAsPermission is a sender identity that the users granted it may send
// as (SEND-1). Grants are explicit: nobody gets one by default (SEND-2).
type SendAsPermission struct {
	ID           int64
	OrgID        int64
	FromName     string
	FromEmail    string
	ReplyToName  string // both empty when replies go to From Email
	ReplyToEmail string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version increases with every change of the permission or its grants;
	// it backs the API's If-Match.
	Version int64
	// UserIDs are the users granted the identity, in ID order.
	UserIDs []int64
	// UserCount is how many users are granted it: len(UserIDs), or, for
	// a summary (the console's pages), read without the ids.
	UserCount int
}

// HasReplyTo reports whether replies go to a different address.
func (p *SendAsPermission) HasReplyTo() bool { return p.ReplyToEmail != "" }
