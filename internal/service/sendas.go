package service

import (
	"context"
	"slices"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// SetEmailAtScale turns the Email at Scale feature on or off; only the
// Owner may. Turning it off hides Send As Permissions and keeps their data.
func (s *Service) SetEmailAtScale(ctx context.Context, on bool) (*muster.Org, error) {
	return s.UpdateOrg(ctx, OrgChange{EmailAtScale: &on})
}

// setEmailAtScale turns Email at Scale of before, the org as the
// transaction read it, on or off, and returns the org after.
func (tx *txn) setEmailAtScale(ctx context.Context, a *actor, before *muster.Org, on bool) (*muster.Org, error) {
	if before.EmailAtScale == on {
		return before, nil
	}
	if err := tx.SetEmailAtScale(ctx, a.orgID, on); err != nil {
		return nil, err
	}
	org, err := tx.FindOrg(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	return org, tx.audit(ctx, a, muster.ActionEmailAtScaleChanged, muster.TargetOrg, org.ID, org.Name,
		map[string]any{"email_at_scale": !on}, map[string]any{"email_at_scale": on})
}

// loadSendAsAdmin resolves an Owner or Admin of an org with Email at Scale.
func loadSendAsAdmin(ctx context.Context, tx muster.Tx) (*actor, error) {
	a, err := loadAdmin(ctx, tx)
	if err != nil {
		return nil, err
	}
	org, err := tx.FindOrg(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	if !org.EmailAtScale {
		return nil, muster.Errorf(muster.ENOTFOUND, "Send As Permissions come with Email at Scale, which is off for this organization.")
	}
	return a, nil
}

// SendAsInput is the New Permission form and its Assign Users step.
type SendAsInput struct {
	FromName  string
	FromEmail string
	// DifferentReplyTo asks for replies to go to ReplyToName <ReplyToEmail>.
	DifferentReplyTo bool
	ReplyToName      string
	ReplyToEmail     string
	UserIDs          []int64
	// KeepUsers keeps the users who hold the permission an update changes,
	// beside UserIDs, but for RemoveUserIDs: how the console sends back an
	// edit of a permission of thousands of users, without their ids.
	KeepUsers     bool
	RemoveUserIDs []int64
	// SelectAll grants every user who is Active when the permission is
	// saved, and nobody who becomes Active later (SEND-2).
	SelectAll bool
	// IfVersion, when not zero, refuses an update with ESTALE unless the
	// permission is still at this version (the API's If-Match).
	IfVersion int64
}

func (in *SendAsInput) validate() error {
	in.FromName = muster.CleanName(in.FromName)
	in.FromEmail = strings.TrimSpace(in.FromEmail)
	in.ReplyToName = muster.CleanName(in.ReplyToName)
	in.ReplyToEmail = strings.TrimSpace(in.ReplyToEmail)
	var v muster.Validation
	muster.CheckName(&v, muster.FieldFromName, "From Name", in.FromName)
	muster.CheckEmail(&v, muster.FieldFromEmail, in.FromEmail)
	if in.DifferentReplyTo {
		muster.CheckName(&v, muster.FieldReplyToName, "Reply-To Name", in.ReplyToName)
		muster.CheckEmail(&v, muster.FieldReplyToEmail, in.ReplyToEmail)
	} else {
		in.ReplyToName, in.ReplyToEmail = "", ""
	}
	return v.Err()
}

// grantees resolves the users a permission is granted to, in id order: all
// Active users now, or the listed ones (with those who hold it now, for
// in.KeepUsers; without in.RemoveUserIDs), each of whom must be Active in
// the org. p is the permission updated (nil for a new one). Those who hold
// it are not read again: a deactivation takes a user's grants away, so
// they are Active; an edit of a permission of thousands of users reads the
// few it adds. The users it adds are locked, so that none is deactivated
// before the grant is written (a deactivation that waited finds the grant
// to take away).
func grantees(ctx context.Context, tx muster.Tx, orgID int64, in SendAsInput, p *muster.SendAsPermission) ([]int64, error) {
	var held []int64
	var id int64
	if p != nil {
		held, id = p.UserIDs, p.ID
	}
	if in.SelectAll {
		added, err := tx.LockActiveUserIDs(ctx, orgID, id)
		return sortedIDs(append(slices.Clone(held), added...)), err
	}
	ids := slices.Clone(in.UserIDs)
	if in.KeepUsers {
		ids = append(ids, held...)
	}
	ids = withoutIDs(sortedIDs(ids), sortedIDs(slices.Clone(in.RemoveUserIDs)))
	added, _ := diffIDs(held, ids)
	users, err := tx.LockUsers(ctx, orgID, added)
	if err != nil {
		return nil, err
	}
	if len(users) < len(added) {
		return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldUserIDs, "A chosen user does not exist in this organization.")
	}
	for _, u := range users {
		if u.Status != muster.StatusActive {
			return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldUserIDs,
				"Only active users can be granted Send As; %s is %s.", u.Name(), strings.ToLower(u.Status.Label()))
		}
	}
	return ids, nil
}

// checkFromEmailFree refuses a From Email another permission of the org has,
// ignoring case.
func checkFromEmailFree(ctx context.Context, tx muster.Tx, orgID, id int64, email string) error {
	other, err := tx.FindSendAsByEmail(ctx, orgID, email)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if other.ID == id {
		return nil
	}
	return muster.FieldErrorf(muster.ECONFLICT, muster.FieldFromEmail, "A Send As permission for %s already exists.", other.FromEmail)
}

func sendAsSnapshot(p *muster.SendAsPermission) map[string]any {
	return map[string]any{"from_name": p.FromName, "from_email": p.FromEmail, "reply_to_name": p.ReplyToName,
		"reply_to_email": p.ReplyToEmail}
}

// CreateSendAs creates a Send As permission with its grants (SEND-1).
func (s *Service) CreateSendAs(ctx context.Context, in SendAsInput) (*muster.SendAsPermission, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var p *muster.SendAsPermission
	err := change(ctx, s, &p, func(tx *txn) error {
		a, err := loadSendAsAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkFromEmailFree(ctx, tx, a.orgID, 0, in.FromEmail); err != nil {
			return err
		}
		ids, err := grantees(ctx, tx, a.orgID, in, nil)
		if err != nil {
			return err
		}
		now := tx.now
		p = &muster.SendAsPermission{OrgID: a.orgID, FromName: in.FromName, FromEmail: in.FromEmail,
			ReplyToName: in.ReplyToName, ReplyToEmail: in.ReplyToEmail, CreatedAt: now, UpdatedAt: now, UserIDs: ids}
		if err := tx.CreateSendAs(ctx, p); err != nil {
			return err
		}
		if err := tx.audit(ctx, a, muster.ActionSendAsCreated, muster.TargetSendAs, p.ID, p.FromEmail, nil,
			sendAsSnapshot(p)); err != nil {
			return err
		}
		return auditGrants(ctx, tx, a, p, ids, nil)
	})
	return p, err
}

// auditGrants writes one event for the users added and one for those
// removed.
func auditGrants(ctx context.Context, tx *txn, a *actor, p *muster.SendAsPermission, added, removed []int64) error {
	if len(added) > 0 {
		if err := tx.audit(ctx, a, muster.ActionSendAsAssigned, muster.TargetSendAs, p.ID, p.FromEmail, nil,
			map[string]any{"user_ids": added}); err != nil {
			return err
		}
	}
	if len(removed) > 0 {
		return tx.audit(ctx, a, muster.ActionSendAsUnassigned, muster.TargetSendAs, p.ID, p.FromEmail,
			map[string]any{"user_ids": removed}, nil)
	}
	return nil
}

// sortedIDs sorts ids in place and drops the repeated ones.
func sortedIDs(ids []int64) []int64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// withoutIDs returns the ids not among remove, both in ascending order.
func withoutIDs(ids, remove []int64) []int64 {
	kept, _ := diffIDs(remove, ids)
	return kept
}

// diffIDs returns the ids of after that are not in before (added) and those
// of before not in after (removed), in one walk of the two lists, each in
// ascending order (as grantees and the store give them).
func diffIDs(before, after []int64) (added, removed []int64) {
	for len(before) > 0 && len(after) > 0 {
		switch b, a := before[0], after[0]; {
		case b == a:
			before, after = before[1:], after[1:]
		case b < a:
			removed, before = append(removed, b), before[1:]
		default:
			added, after = append(added, a), after[1:]
		}
	}
	return append(added, after...), append(removed, before...)
}

// UpdateSendAs changes a permission's details and users.
func (s *Service) UpdateSendAs(ctx context.Context, id int64, in SendAsInput) (*muster.SendAsPermission, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	var p *muster.SendAsPermission
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadSendAsAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if p, err = tx.FindSendAs(ctx, a.orgID, id); err != nil {
			return err
		}
		if err := checkVersion("permission", in.IfVersion, p.Version); err != nil {
			return err
		}
		if err := checkFromEmailFree(ctx, tx, a.orgID, p.ID, in.FromEmail); err != nil {
			return err
		}
		ids, err := grantees(ctx, tx, a.orgID, in, p)
		if err != nil {
			return err
		}
		before := sendAsSnapshot(p)
		added, removed := diffIDs(p.UserIDs, ids)
		p.FromName, p.FromEmail, p.ReplyToName, p.ReplyToEmail = in.FromName, in.FromEmail, in.ReplyToName, in.ReplyToEmail
		p.UpdatedAt, p.UserIDs = tx.now, ids
		if err := tx.UpdateSendAs(ctx, p, added, removed); err != nil {
			return err
		}
		if after := sendAsSnapshot(p); !equalSnapshots(before, after) {
			if err := tx.audit(ctx, a, muster.ActionSendAsUpdated, muster.TargetSendAs, p.ID, p.FromEmail, before, after); err != nil {
				return err
			}
		}
		return auditGrants(ctx, tx, a, p, added, removed)
	})
	return p, err
}

// DeleteSendAs deletes a permission and its grants. A non-zero ifVersion
// refuses it with ESTALE unless the permission is still at that version.
func (s *Service) DeleteSendAs(ctx context.Context, id, ifVersion int64) (*muster.SendAsPermission, error) {
	var p *muster.SendAsPermission
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadSendAsAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if p, err = tx.FindSendAs(ctx, a.orgID, id); err != nil {
			return err
		}
		if err := checkVersion("permission", ifVersion, p.Version); err != nil {
			return err
		}
		if err := tx.DeleteSendAs(ctx, a.orgID, id); err != nil {
			return err
		}
		before := sendAsSnapshot(p)
		before["user_ids"] = p.UserIDs
		return tx.audit(ctx, a, muster.ActionSendAsDeleted, muster.TargetSendAs, p.ID, p.FromEmail, before, nil)
	})
	return p, err
}

// SendAsPermissions lists the org's permissions with their users.
func (s *Service) SendAsPermissions(ctx context.Context) ([]*muster.SendAsPermission, error) {
	return readAs(ctx, s, loadSendAsAdmin, func(tx *txn, a *actor) ([]*muster.SendAsPermission, error) {
		return tx.FindSendAsPermissions(ctx, a.orgID)
	})
}

// SendAsSummaries lists the org's permissions with how many users hold
// each, without their ids: the Send As tab, which a permission granted to
// thousands of users would otherwise read them all for.
func (s *Service) SendAsSummaries(ctx context.Context) ([]*muster.SendAsPermission, error) {
	return readAs(ctx, s, loadSendAsAdmin, func(tx *txn, a *actor) ([]*muster.SendAsPermission, error) {
		return tx.FindSendAsSummaries(ctx, a.orgID)
	})
}

// SendAsSummary returns one permission of the org as SendAsSummaries
// lists it: for its edit form and its deletion's confirmation.
func (s *Service) SendAsSummary(ctx context.Context, id int64) (*muster.SendAsPermission, error) {
	return readAs(ctx, s, loadSendAsAdmin, func(tx *txn, a *actor) (*muster.SendAsPermission, error) {
		return tx.FindSendAsSummary(ctx, a.orgID, id)
	})
}

// SendAs returns one permission of the org.
func (s *Service) SendAs(ctx context.Context, id int64) (*muster.SendAsPermission, error) {
	return readAs(ctx, s, loadSendAsAdmin, func(tx *txn, a *actor) (*muster.SendAsPermission, error) {
		return tx.FindSendAs(ctx, a.orgID, id)
	})
}

// MySenderAddresses lists the sender addresses granted to the signed-in
// user (SEND-4); none while the org has Email at Scale off.
func (s *Service) MySenderAddresses(ctx context.Context) ([]*muster.SendAsPermission, error) {
	var out []*muster.SendAsPermission
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		org, err := tx.FindOrg(ctx, a.orgID)
		if err != nil {
			return err
		}
		out, err = senderAddresses(ctx, tx, org, a.user)
		return err
	})
	return out, err
}

// senderAddresses lists the sender addresses granted to u; none while org
// has Email at Scale off.
func senderAddresses(ctx context.Context, tx muster.Tx, org *muster.Org, u *muster.User) ([]*muster.SendAsPermission, error) {
	if !org.EmailAtScale {
		return nil, nil
	}
	return tx.FindUserSendAs(ctx, u.ID)
}

// auditSendAsRevoked writes the one audit event that names the permissions
// whose grants the deactivated user u lost (SEND-2), if any.
func auditSendAsRevoked(ctx context.Context, tx *txn, a *actor, u *muster.User, perms []*muster.SendAsPermission) error {
	if len(perms) == 0 {
		return nil
	}
	ids := make([]int64, len(perms))
	emails := make([]string, len(perms))
	for i, p := range perms {
		ids[i], emails[i] = p.ID, p.FromEmail
	}
	return tx.audit(ctx, a, muster.ActionSendAsRevoked, muster.TargetUser, u.ID, u.Email,
		map[string]any{"send_as_ids": ids, "from_emails": emails}, map[string]any{"reason": "deactivated"})
}

// SendAsAccess refuses anyone who may not manage the org's Send As
// permissions: the New Permission page asks before it shows the form.
func (s *Service) SendAsAccess(ctx context.Context) error {
	return s.view(ctx, func(tx *txn) error {
		_, err := loadSendAsAdmin(ctx, tx)
		return err
	})
}

// AssigneeQuery is the state of Assign Users (SEND-1): the users chosen
// so far for the permission PermissionID (0 for a new one) as the form
// sends them back (SendAsInput's UserIDs, KeepUsers and RemoveUserIDs), a
// search, and how many users to show of each list.
type AssigneeQuery struct {
	PermissionID int64
	Chosen       SendAsInput
	Search       string
	Limit        int
}

// SendAsAssignees is what Assign Users shows.
type SendAsAssignees struct {
	// Chosen are the users chosen (UserIDs) and, of the permission's users
	// kept, up to Limit that match the search, by name.
	Chosen []*muster.User
	// ChosenTotal counts the users chosen, those kept among them.
	ChosenTotal int
	// Removed are the permission's users taken off (RemoveUserIDs).
	Removed []*muster.User
	// Candidates are up to Limit Active users not chosen that match the
	// search, by name.
	Candidates []*muster.User
}

// FindSendAsAssignees returns what Assign Users shows for q. A permission
// of thousands of users is read a page at a time: the users it keeps that
// match the search, and the Active users who do not hold it.
func (s *Service) FindSendAsAssignees(ctx context.Context, q AssigneeQuery) (*SendAsAssignees, error) {
	var out SendAsAssignees
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadSendAsAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkSearch(q.Search); err != nil {
			return err
		}
		limit := pageLimit(q.Limit)
		added := sortedIDs(slices.Clone(q.Chosen.UserIDs))
		if out.Chosen, err = tx.FindUsersByID(ctx, a.orgID, added); err != nil {
			return err
		}
		out.ChosenTotal = len(out.Chosen)
		active := muster.UserFilter{OrgID: a.orgID, Query: q.Search, Status: muster.StatusActive}
		if q.Chosen.KeepUsers && q.PermissionID != 0 {
			// Those who hold it are Active (a deactivation takes grants
			// away): the grants are counted alone.
			perm, err := tx.FindSendAsSummary(ctx, a.orgID, q.PermissionID)
			if err != nil {
				return err
			}
			n := perm.UserCount
			removed := sortedIDs(slices.Clone(q.Chosen.RemoveUserIDs))
			taken, err := tx.FindUsersByID(ctx, a.orgID, removed)
			if err != nil {
				return err
			}
			// A user deactivated since holds it no longer.
			out.Removed = slices.DeleteFunc(taken, func(u *muster.User) bool { return u.Status != muster.StatusActive })
			out.ChosenTotal += n - len(out.Removed)
			activeUsers, err := countActive(ctx, tx, a.orgID)
			if err != nil {
				return err
			}
			held := active
			held.SendAsID, held.SendAsHeld, held.SendAsMany = q.PermissionID, true, n*10 >= activeUsers
			kept, err := findUsersExcept(ctx, tx, held, removed, limit)
			if err != nil {
				return err
			}
			out.Chosen = append(out.Chosen, kept...)
			if n >= activeUsers {
				// Every Active user holds it (Select All): none to offer,
				// found without walking them all.
				return nil
			}
			active.SendAsID = q.PermissionID
		}
		out.Candidates, err = findUsersExcept(ctx, tx, active, added, limit)
		return err
	})
	return &out, err
}

// countActive counts the org's Active users: its seats in use less its
// Pending users, who are few beside them. The seats in use are never
// fewer than those (LIC-1); were they more (seats an import holds), the
// count is too high, which costs Assign Users a walk, never a user left
// out.
func countActive(ctx context.Context, tx muster.Tx, orgID int64) (int, error) {
	org, err := tx.FindOrg(ctx, orgID)
	if err != nil {
		return 0, err
	}
	pending, err := tx.CountUsers(ctx, muster.UserFilter{OrgID: orgID, Status: muster.StatusPending}, MaxUserCount)
	return org.SeatsUsed - pending, err
}

// findUsersExcept returns up to limit of the users f finds that are not
// among except (in id order): f's page made longer by as many.
func findUsersExcept(ctx context.Context, tx muster.Tx, f muster.UserFilter, except []int64, limit int) ([]*muster.User, error) {
	f.Limit = limit + len(except)
	found, err := tx.FindUsers(ctx, f)
	if err != nil {
		return nil, err
	}
	found = slices.DeleteFunc(found, func(u *muster.User) bool {
		_, ok := slices.BinarySearch(except, u.ID)
		return ok
	})
	return found[:min(len(found), limit)], nil
}
