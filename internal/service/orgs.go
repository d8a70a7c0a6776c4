package service

import (
	"context"
	"regexp"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// NewOrg is what creating an organization asks for.
type NewOrg struct {
	Name           string
	Region         string // empty: the deployment's region
	LicenseTotal   int
	OwnerEmail     string
	OwnerFirstName string
	OwnerLastName  string
}

// OrgSetup is a new organization with its Pending Owner and the Owner's
// set-up link.
type OrgSetup struct {
	Org      *muster.Org
	Owner    *muster.User
	SetupURL string
}

// MaxLicenseTotal bounds the license total to a number a form can show.
const MaxLicenseTotal = 10_000_000

var regionPattern = regexp.MustCompile(`^[a-z]{2,10}$`)

// CreateOrg creates an organization, its Default Team and its Owner, who is
// Pending with a set-up invitation. Only an operator may do it.
func (s *Service) CreateOrg(ctx context.Context, in NewOrg) (*OrgSetup, error) {
	p, ok := muster.PrincipalFrom(ctx)
	if !ok || !p.IsOperator() {
		return nil, muster.Errorf(muster.EFORBIDDEN, "Only an operator can create organizations.")
	}
	return s.createOrg(ctx, in, p.Origin, false)
}

// FirstRun creates the first organization from the first-run page. It is
// refused once any organization exists.
func (s *Service) FirstRun(ctx context.Context, in NewOrg, origin string) (*OrgSetup, error) {
	return s.createOrg(ctx, in, origin, true)
}

// NeedsFirstRun reports whether the database has no organization yet.
func (s *Service) NeedsFirstRun(ctx context.Context) (bool, error) {
	var n int
	err := s.view(ctx, func(tx *txn) error {
		var err error
		n, err = tx.CountOrgs(ctx)
		return err
	})
	return n == 0, err
}

func (s *Service) createOrg(ctx context.Context, in NewOrg, origin string, onlyFirst bool) (*OrgSetup, error) {
	in.Name = muster.CleanName(in.Name)
	in.OwnerFirstName = muster.CleanName(in.OwnerFirstName)
	in.OwnerLastName = muster.CleanName(in.OwnerLastName)
	if in.Region == "" {
		in.Region = s.cfg.Region
	}
	var v muster.Validation
	muster.CheckName(&v, muster.FieldName, "Organization name", in.Name)
	if !regionPattern.MatchString(in.Region) {
		v.Add(muster.FieldRegion, "Region must be a short code in lower case, like us or eu.")
	}
	checkLicenseTotal(&v, in.LicenseTotal)
	muster.CheckName(&v, muster.FieldFirstName, "First name", in.OwnerFirstName)
	muster.CheckName(&v, muster.FieldLastName, "Last name", in.OwnerLastName)
	// Checked before it is normalized: lower-casing would turn invalid bytes
	// into U+FFFD, valid text that is not what was sent.
	muster.CheckEmail(&v, muster.FieldEmail, in.OwnerEmail)
	if err := v.Err(); err != nil {
		return nil, err
	}
	in.OwnerEmail = muster.NormalizeEmail(in.OwnerEmail)

	var setup OrgSetup
	err := s.update(ctx, func(tx *txn) error {
		if onlyFirst {
			if n, err := tx.CountOrgs(ctx); err != nil {
				return err
			} else if n > 0 {
				return muster.Errorf(muster.ECONFLICT, "Muster is already set up. Sign in instead.")
			}
		}
		if err := checkEmailFree(ctx, tx, in.OwnerEmail); err != nil {
			return err
		}
		now := tx.now
		org := &muster.Org{Name: in.Name, Region: in.Region, LicenseTotal: in.LicenseTotal, SeatsUsed: 1, CreatedAt: now}
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		team := &muster.Team{OrgID: org.ID, Name: muster.DefaultTeamName, IsDefault: true, CreatedAt: now}
		if err := tx.CreateTeam(ctx, team); err != nil {
			return err
		}
		owner := &muster.User{
			OrgID: org.ID, Email: in.OwnerEmail, FirstName: in.OwnerFirstName, LastName: in.OwnerLastName,
			Role: muster.RoleOwner, Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now,
			PrimaryTeamID: team.ID,
		}
		if err := tx.CreateUser(ctx, owner); err != nil {
			return err
		}
		a := &actor{orgID: org.ID, role: muster.RoleOwner, origin: origin}
		if err := tx.audit(ctx, a, muster.ActionOrgCreated, muster.TargetOrg, org.ID, org.Name, nil,
			map[string]any{"name": org.Name, "region": org.Region, "license_total": org.LicenseTotal}); err != nil {
			return err
		}
		url, err := s.sendInvitation(ctx, tx, a, org, owner)
		if err != nil {
			return err
		}
		if err := tx.audit(ctx, a, muster.ActionUserInvited, muster.TargetUser, owner.ID, owner.Email, nil,
			userSnapshot(owner)); err != nil {
			return err
		}
		setup = OrgSetup{Org: org, Owner: owner, SetupURL: url}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &setup, nil
}

func checkLicenseTotal(v *muster.Validation, total int) {
	if total < 1 || total > MaxLicenseTotal {
		v.Add(muster.FieldLicenseTotal, "The license total must be a whole number from 1 to "+strconv.Itoa(MaxLicenseTotal)+".")
	}
}

// Org returns the actor's organization.
func (s *Service) Org(ctx context.Context) (*muster.Org, error) {
	return readAs(ctx, s, loadActor, func(tx *txn, a *actor) (*muster.Org, error) {
		return tx.FindOrg(ctx, a.orgID)
	})
}

// LicenseUsage returns the organization with its license total and used
// seats, for Owners and Admins (CON-4).
func (s *Service) LicenseUsage(ctx context.Context) (*muster.Org, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.Org, error) {
		return tx.FindOrg(ctx, a.orgID)
	})
}

// SetLicenseTotal changes the license total; only the Owner may (LIC-2). A
// total below the seats in use is refused with the numbers. A non-zero
// ifVersion refuses the change with ESTALE unless the org's settings are
// still at that version (the API's If-Match).
func (s *Service) SetLicenseTotal(ctx context.Context, total int, ifVersion int64) (*muster.Org, error) {
	return s.UpdateOrg(ctx, OrgChange{LicenseTotal: &total, IfVersion: ifVersion})
}

// OrgChange is a change of the organization's settings: each field that is
// set.
type OrgChange struct {
	LicenseTotal *int
	EmailAtScale *bool
	// IfVersion, when not zero, refuses the change with ESTALE unless the
	// org's settings are still at that version (the API's If-Match).
	IfVersion int64
}

// UpdateOrg makes the changes of c in one transaction, the Owner's alone:
// all of them, or, when one is refused, none (`muster org update`).
func (s *Service) UpdateOrg(ctx context.Context, c OrgChange) (*muster.Org, error) {
	var v muster.Validation
	if c.LicenseTotal != nil {
		checkLicenseTotal(&v, *c.LicenseTotal)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var org *muster.Org
	err := s.update(ctx, func(tx *txn) error {
		what := "change the license total"
		if c.LicenseTotal == nil {
			what = "turn Email at Scale on or off"
		}
		a, err := loadOwner(ctx, tx, what)
		if err != nil {
			return err
		}
		if org, err = tx.FindOrg(ctx, a.orgID); err != nil {
			return err
		}
		if err := checkVersion("license total", c.IfVersion, org.Version); err != nil {
			return err
		}
		if c.LicenseTotal != nil {
			if org, err = tx.setLicenseTotal(ctx, a, org, *c.LicenseTotal); err != nil {
				return err
			}
		}
		if c.EmailAtScale != nil {
			org, err = tx.setEmailAtScale(ctx, a, org, *c.EmailAtScale)
		}
		return err
	})
	return org, err
}

// setLicenseTotal sets the total of before, the org as the transaction
// read it, and returns the org after.
func (tx *txn) setLicenseTotal(ctx context.Context, a *actor, before *muster.Org, total int) (*muster.Org, error) {
	if ok, err := tx.SetLicenseTotal(ctx, a.orgID, total); err != nil {
		return nil, err
	} else if !ok {
		return nil, &muster.Error{Code: muster.ECONFLICT, Message: "The license total can't be lower than the " +
			strconv.Itoa(before.SeatsUsed) + " licenses in use. Withdraw pending invitations or deactivate users first.",
			Fields: []muster.FieldError{{Field: muster.FieldLicenseTotal, Message: strconv.Itoa(before.SeatsUsed) + " licenses are in use."}}}
	}
	org, err := tx.FindOrg(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	return org, tx.audit(ctx, a, muster.ActionLicenseTotalChanged, muster.TargetOrg, org.ID, org.Name,
		map[string]any{"license_total": before.LicenseTotal}, map[string]any{"license_total": org.LicenseTotal})
}

// OrgSettings is what Settings → Organization shows: the organization and,
// to its Owner, the Active Admins ownership can be transferred to.
type OrgSettings struct {
	Org *muster.Org
	// Heirs are the Active Admins, by name; empty unless the actor is the
	// Owner.
	Heirs []*muster.User
	// TwoStep is the organization's sign-in security (AUTH-7).
	TwoStep *muster.TwoStepPolicy
}

// FindOrgSettings returns the organization's settings page, for Owners and
// Admins.
func (s *Service) FindOrgSettings(ctx context.Context) (*OrgSettings, error) {
	var out OrgSettings
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if out.Org, err = tx.FindOrg(ctx, a.orgID); err != nil {
			return err
		}
		if out.TwoStep, err = findTwoStepPolicy(ctx, tx, a.orgID); err != nil {
			return err
		} else if out.TwoStep == nil {
			out.TwoStep = defaultTwoStepPolicy(a.orgID)
		}
		if a.role != muster.RoleOwner {
			return nil
		}
		out.Heirs, err = tx.FindUsers(ctx, muster.UserFilter{OrgID: a.orgID, Role: muster.RoleAdmin,
			Status: muster.StatusActive, Limit: MaxPageSize})
		return err
	})
	return &out, err
}

// FindHeir returns the user the Owner would transfer ownership to, for the
// confirmation that asks for their password: refused, as TransferOwnership
// would refuse it, unless the actor is the Owner and the user an Active
// Admin of the org (OWN-1).
func (s *Service) FindHeir(ctx context.Context, toUserID int64) (*muster.User, error) {
	load := func(ctx context.Context, tx muster.Tx) (*actor, error) {
		return loadOwner(ctx, tx, "transfer ownership")
	}
	return readAs(ctx, s, load, func(tx *txn, a *actor) (*muster.User, error) {
		to, err := loadTarget(ctx, tx, a, toUserID)
		if err != nil {
			return nil, err
		}
		return to, checkHeir(to)
	})
}

// checkHeir refuses to make to the Owner unless they are an Active Admin.
func checkHeir(to *muster.User) error {
	switch {
	case to.Role == muster.RoleOwner:
		return muster.Errorf(muster.ECONFLICT, "%s is the Owner already.", to.Email)
	case to.Role != muster.RoleAdmin || to.Status != muster.StatusActive:
		return muster.Errorf(muster.ECONFLICT, "Ownership can only go to an Active Admin; %s is %s and %s.",
			to.Email, article(to.Role.Label()), to.Status.Label())
	}
	return nil
}

var errOnlyOwnerTransfers = muster.Errorf(muster.EFORBIDDEN, "Only the Owner can transfer ownership.")

// OwnershipTransfer is a transfer of ownership that took place (OWN-1).
type OwnershipTransfer struct {
	Org *muster.Org
	// From is the former Owner, now an Admin; To is the new Owner.
	From, To *muster.User
}

// TransferOwnership makes an Active Admin the Owner and the Owner an Admin
// (OWN-1). The Owner confirms with their password; an operator needs none.
func (s *Service) TransferOwnership(ctx context.Context, toUserID int64, password string) (*OwnershipTransfer, error) {
	// The password is checked before the transaction, as at sign-in:
	// argon2id takes tens of milliseconds and must not hold the write lock.
	var checkedHash string
	if p, ok := muster.PrincipalFrom(ctx); ok && p.UserID != 0 {
		me, err := s.Me(ctx)
		if err != nil {
			return nil, err
		}
		// Refused before the password is weighed: an Admin's right or
		// wrong password changes nothing.
		if me.Role != muster.RoleOwner {
			return nil, errOnlyOwnerTransfers
		}
		if ok, err := s.checkOwnPassword(ctx, me, password); err != nil {
			return nil, err
		} else if !ok {
			return nil, muster.FieldErrorf(muster.EFORBIDDEN, muster.FieldPassword, "That password is not right.")
		}
		checkedHash = me.PasswordHash
	}
	var out OwnershipTransfer
	err := change(ctx, s, &out, func(tx *txn) error {
		a, err := loadOwner(ctx, tx, "transfer ownership")
		if err != nil {
			return err
		}
		to, err := loadTarget(ctx, tx, a, toUserID)
		if err != nil {
			return err
		}
		if err := checkHeir(to); err != nil {
			return err
		}
		owner := a.user
		if owner == nil {
			if owner, err = findOwner(ctx, tx, a.orgID); err != nil {
				return err
			}
		}
		// Read again, locked: loadOwner reads the actor without a lock, and
		// a transfer that committed since has made them an Admin (or a
		// password change has made the one checked stale).
		if owner, err = tx.FindUser(ctx, a.orgID, owner.ID); err != nil {
			return err
		}
		switch {
		case owner.Role == muster.RoleOwner && (a.operator() || owner.PasswordHash == checkedHash):
		case a.user != nil:
			return errOnlyOwnerTransfers
		default:
			return muster.Errorf(muster.ECONFLICT, "Ownership changed a moment ago. Please try again.")
		}
		// The old Owner steps down first: the schema allows one Owner per org.
		owner.Role, owner.UpdatedAt = muster.RoleAdmin, tx.now
		if err := tx.UpdateUser(ctx, owner); err != nil {
			return err
		}
		to.Role, to.UpdatedAt = muster.RoleOwner, tx.now
		if err := tx.UpdateUser(ctx, to); err != nil {
			return err
		}
		if out.Org, err = tx.FindOrg(ctx, a.orgID); err != nil {
			return err
		}
		out.From, out.To = owner, to
		return tx.audit(ctx, a, muster.ActionOwnershipMoved, muster.TargetUser, to.ID, to.Email,
			map[string]any{"owner": owner.Email}, map[string]any{"owner": to.Email})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// article puts "a" or "an" before a word.
func article(word string) string {
	if word != "" && strings.ContainsRune("AEIOU", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

func findOwner(ctx context.Context, tx muster.Tx, orgID int64) (*muster.User, error) {
	users, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: orgID, Role: muster.RoleOwner, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(users) == 0 {
		return nil, muster.Errorf(muster.ENOTFOUND, "The organization has no Owner.")
	}
	return users[0], nil
}
