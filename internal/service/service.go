// Package service holds every rule of Muster: who may do what to whom
// (SPEC §2), the user lifecycle (§3), seats, teams and the audit trail. Each
// operation runs in one store transaction that re-reads the actor, decides,
// writes the change, its audit event and its emails, and commits; a refused
// operation returns a *muster.Error and writes nothing.
package service

import (
	"context"
	"runtime"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/sso"
	"github.com/muster-app/muster/internal/webhook"
)

// Config holds the settings the rules depend on.
type Config struct {
	// BaseURL is where this deployment's console is reached; links in emails
	// start with it.
	BaseURL string
	// Region is the region this deployment serves (AUTH-4).
	Region string
	// InvitationTTL is how long an invitation link stays valid (INV-4).
	InvitationTTL time.Duration
	// ReportLease is how long a report runner holds a report between two
	// progress updates before another may restart it; zero means 2 minutes.
	ReportLease time.Duration
	// Now returns the current time; tests set it.
	Now func() time.Time
	// PasswordParams are argon2id's costs for new password hashes; zero
	// means secret.DefaultParams. Tests use secret.TestParams.
	PasswordParams secret.Params
	// Links makes the links that emails carry.
	Links Links
	// Waker, if set, is told after each commit what it queued for the
	// background workers.
	Waker Waker
	// Webhooks sends webhook requests (EVT-1); nil sends with a client that
	// connects to public addresses only.
	Webhooks *webhook.Client
	// WebhooksAllowPrivate accepts endpoint URLs on http:// and on
	// loopback and private hosts: the server's flag for local development.
	WebhooksAllowPrivate bool
	// SSO is the OpenID Connect relying party that single sign-on
	// (AUTH-6) talks to identity providers with; nil makes one with
	// sso.Options' defaults.
	SSO *sso.Client
	// Resolver looks up the TXT records that verify email domains; nil is
	// the system's resolver.
	Resolver sso.Resolver
	// SecretBox seals the secrets Muster must read back (webhook signing
	// secrets, SSO client secrets) at rest with the server's key; without
	// it no webhook endpoint or SSO connection can be saved.
	SecretBox *secret.Box
}

// Links makes the URLs of the pages that emails link to; the console, which
// serves those pages, provides them.
type Links interface {
	Invitation(token string) string
	PasswordReset(token string) string
	ReportDownload(id int64) string
	Webhook(id int64) string
}

// Queue names the background work a transaction can leave behind.
type Queue uint8

const (
	QueueMail    Queue = 1 << iota // email in the outbox
	QueueReports                   // a user-list report to run
)

// QueueWebhooks: webhook deliveries to send (EVT-1).
const QueueWebhooks = QueueReports << 1

// QueueImports: a committed import to apply (BULK-1).
const QueueImports = QueueWebhooks << 1

// Waker wakes the background workers that serve queues, so that work
// queued by a request starts at once rather than at the next poll.
type Waker interface {
	Wake(queues Queue)
}

// Service is Muster's one service layer.
type Service struct {
	store muster.Store
	cfg   Config
	// hashes bounds the password hashes sign-ins run at once and the
	// queue for them (AUTH-1).
	hashes *hashGate
	// dummyHash is checked against when no account matches, so that a
	// wrong email takes as long as a wrong password (DEA-2).
	dummyHash string
	// hooks are called at points of a sign-in; only tests set them.
	hooks signInHooks
	// rp is Muster as WebAuthn's relying party, for passkeys.
	rp relyingParty
}

// New returns a service over store.
func New(store muster.Store, cfg Config) *Service {
	if cfg.Links == nil {
		panic("service: Config.Links is required: the links that emails carry")
	}
	if cfg.InvitationTTL == 0 {
		cfg.InvitationTTL = 7 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReportLease == 0 {
		cfg.ReportLease = defaultReportLease
	}
	if cfg.Region == "" {
		cfg.Region = "us"
	}
	if cfg.SSO == nil {
		cfg.SSO = sso.NewClient(sso.Options{})
	}
	if cfg.Resolver == nil {
		cfg.Resolver = sso.NewResolver("")
	}
	if cfg.PasswordParams == (secret.Params{}) {
		cfg.PasswordParams = secret.DefaultParams
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Service{
		store:     store,
		cfg:       cfg,
		dummyHash: cfg.PasswordParams.DummyHash(),
		hashes:    newHashGate(runtime.GOMAXPROCS(0), hashQueuePerCPU*runtime.GOMAXPROCS(0)),
		rp:        newRelyingParty(cfg.BaseURL),
	}
}

func (s *Service) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// Now is the service's time (Config.Now), which the interfaces compare
// expiries with when they show them, so that a page says what the
// service would do.
func (s *Service) Now() time.Time { return s.now() }

// actor is the principal as the database knows it at this moment.
type actor struct {
	user *muster.User // nil for an operator and a SCIM token
	// scim is the SCIM token an identity provider acts with; its role is
	// muster.RoleProvisioner.
	scim   *muster.SCIMToken
	orgID  int64
	role   muster.Role
	origin string
	// system names Muster itself acting on its own (disabling a failing
	// webhook endpoint, single sign-on refusing a sign-in, the domain
	// check); empty for people and operators.
	system string
}

// operator reports whether the actor is an operator at the command line,
// who acts with the Owner's powers.
func (a *actor) operator() bool { return a.user == nil && a.scim == nil }

func (a *actor) id() int64 {
	if a.user == nil {
		return 0
	}
	return a.user.ID
}

func (a *actor) label() string {
	if a.system != "" {
		return a.system
	}
	if a.scim != nil {
		return scimTokenLabel(a.scim)
	}
	if a.user == nil {
		return "Operator"
	}
	return a.user.Name() + " <" + a.user.Email + ">"
}

func (a *actor) name() string {
	if a.user == nil {
		return ""
	}
	return a.user.Name()
}

// loadActor resolves the context's principal inside tx. Only Active users
// act; a user deactivated or demoted a moment ago is judged by what they are
// now (ROLE-3, DEA-1).
func loadActor(ctx context.Context, tx muster.Tx) (*actor, error) {
	p, ok := muster.PrincipalFrom(ctx)
	if !ok {
		return nil, muster.Errorf(muster.EUNAUTHORIZED, "Please sign in.")
	}
	if p.IsSCIM() {
		// A change reads it in its transaction, so that a token revoked a
		// moment ago changes nothing, and for the name the audit log gives
		// it; a read takes it as the authentication read it
		// (authenticatedTx).
		t, err := tx.FindSCIMToken(ctx, p.OrgID, p.SCIMTokenID)
		if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && !t.RevokedAt.IsZero()) {
			return nil, errSCIMTokenInvalid
		} else if err != nil {
			return nil, err
		}
		return &actor{scim: t, orgID: t.OrgID, role: muster.RoleProvisioner, origin: p.Origin}, nil
	}
	if p.IsOperator() {
		if _, err := tx.FindOrg(ctx, p.OrgID); err != nil {
			return nil, err
		}
		return &actor{orgID: p.OrgID, role: muster.RoleOwner, origin: p.Origin}, nil
	}
	// Read, not locked: one person's requests would otherwise wait for each
	// other on PostgreSQL. A transaction that changes the actor's own row
	// reads it again with FindUser.
	u, err := tx.PeekUser(ctx, p.OrgID, p.UserID)
	return userActor(p, u, err)
}

// userActor is the actor of the user principal p, as read in the
// transaction (u, or the error of reading them).
func userActor(p muster.Principal, u *muster.User, err error) (*actor, error) {
	if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && u.Status != muster.StatusActive) {
		return nil, errSessionEnded
	} else if err != nil {
		return nil, err
	}
	return &actor{user: u, orgID: u.OrgID, role: u.Role, origin: p.Origin}, nil
}

// loadAdmin resolves the actor and requires Owner or Admin.
func loadAdmin(ctx context.Context, tx muster.Tx) (*actor, error) {
	a, err := loadActor(ctx, tx)
	if err != nil {
		return nil, err
	}
	if err := muster.CheckAdminister(a.role); err != nil {
		return nil, err
	}
	return a, nil
}

// txn is one transaction of the service: the store's, with the time it
// began, which everything it writes carries, and what it queued for the
// background workers, which are woken once it has committed.
type txn struct {
	muster.Tx
	now    time.Time
	queued Queue
	// hooks are the org's webhook endpoints, read at the first audit
	// event; nil until then.
	hooks *orgHooks
	// bulkMail puts the email the transaction queues in the outbox's bulk
	// lane (an import's invitations).
	bulkMail bool
	// bulk, set in an import's batch, holds what the batch reads once for
	// all its rows; nil elsewhere.
	bulk *bulkReads
	// reservedSeats are seats an import took at its commit that this
	// transaction's invitations use instead of taking one each.
	reservedSeats int
}

// CreateOutboxMessage queues an email and notes that the mail sender has
// work.
func (tx *txn) CreateOutboxMessage(ctx context.Context, msg *muster.OutboxMessage) error {
	return tx.CreateOutboxMessages(ctx, []*muster.OutboxMessage{msg})
}

// CreateOutboxMessages queues emails, in the bulk lane for an import, and
// notes that the mail sender has work.
func (tx *txn) CreateOutboxMessages(ctx context.Context, msgs []*muster.OutboxMessage) error {
	tx.queued |= QueueMail
	for _, msg := range msgs {
		msg.Bulk = msg.Bulk || tx.bulkMail
	}
	return tx.Tx.CreateOutboxMessages(ctx, msgs)
}

// CreateReport queues a report and notes that the report runner has work.
func (tx *txn) CreateReport(ctx context.Context, r *muster.Report) error {
	tx.queued |= QueueReports
	return tx.Tx.CreateReport(ctx, r)
}

// audit writes one audit event about the target of targetType with
// targetID, named targetLabel, and the webhook events it makes (EVT-1).
func (tx *txn) audit(ctx context.Context, a *actor, action, targetType string, targetID int64, targetLabel string,
	before, after map[string]any) error {
	return tx.auditAll(ctx, []*muster.AuditEvent{tx.auditEvent(a, action, targetType, targetID, targetLabel, before, after)})
}

// auditEvent is the audit event of the actor's action, at the
// transaction's time.
func (tx *txn) auditEvent(a *actor, action, targetType string, targetID int64, targetLabel string,
	before, after map[string]any) *muster.AuditEvent {
	return &muster.AuditEvent{
		OrgID:       a.orgID,
		ActorID:     a.id(),
		ActorLabel:  a.label(),
		Action:      action,
		TargetType:  targetType,
		TargetID:    targetID,
		TargetLabel: targetLabel,
		Before:      before,
		After:       after,
		Origin:      a.origin,
		CreatedAt:   tx.now,
	}
}

// auditAll writes audit events, a few statements for any number, and the
// webhook events they make (EVT-1).
func (tx *txn) auditAll(ctx context.Context, events []*muster.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	// The first audit event of the org in the transaction reads the org's
	// webhook endpoints with it, which its webhook events need next, unless
	// the transaction read them already. If it did and found none, nothing
	// reads the events' IDs, and they go with the next statement.
	var subscribersOf int64
	if org := events[0].OrgID; tx.hooks == nil || tx.hooks.orgID != org {
		subscribersOf = org
	} else if len(tx.hooks.subs) == 0 {
		return tx.QueueAuditEvents(ctx, events)
	}
	subs, err := tx.CreateAuditEvents(ctx, events, subscribersOf)
	if err != nil {
		return err
	}
	if subscribersOf != 0 {
		tx.hooks = &orgHooks{orgID: subscribersOf, subs: subs}
	}
	for _, e := range events {
		if err := tx.webhookEvents(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// update runs fn in a write transaction and, once it has committed, wakes
// the workers for what it queued.
func (s *Service) update(ctx context.Context, fn func(*txn) error) error {
	var queued Queue
	err := s.store.Update(ctx, func(tx muster.Tx) error {
		t := &txn{Tx: tx, now: s.now()}
		if err := fn(t); err != nil {
			return err
		}
		queued = t.queued
		return nil
	})
	if err == nil && queued != 0 && s.cfg.Waker != nil {
		s.cfg.Waker.Wake(queued)
	}
	return err
}

// readAs runs fn's reads (as read does), for the actor load finds
// (loadAdmin, loadUser…), and returns fn's result.
func readAs[T any](ctx context.Context, s *Service, load func(context.Context, muster.Tx) (*actor, error),
	fn func(*txn, *actor) (T, error)) (T, error) {
	var out T
	err := s.read(ctx, func(tx *txn) error {
		a, err := load(ctx, tx)
		if err != nil {
			return err
		}
		out, err = fn(tx, a)
		return err
	})
	return out, err
}

// view runs fn in a read-only transaction.
func (s *Service) view(ctx context.Context, fn func(*txn) error) error {
	return s.store.View(ctx, func(tx muster.Tx) error { return fn(&txn{Tx: tx, now: s.now()}) })
}

// read runs fn's reads outside a transaction (Store.Read): for reads whose
// statements need not see one moment, such as the actor and then the page
// of a request, which on PostgreSQL then cost no BEGIN and COMMIT. A read
// that must see one moment (an invitation and its user, whose state tells
// why a link is dead) uses view.
func (s *Service) read(ctx context.Context, fn func(*txn) error) error {
	return s.store.Read(ctx, func(tx muster.Tx) error {
		if p, ok := muster.PrincipalFrom(ctx); ok && (p.User != nil || p.SCIMToken != nil) {
			tx = authenticatedTx{Tx: tx, user: p.User, listVersion: p.UserListVersion, scimToken: p.SCIMToken}
		}
		return fn(&txn{Tx: tx, now: s.now()})
	})
}

// authenticatedTx is a read's store as seen by the request's actor, whom
// the request's authentication read a moment ago: PeekUser returns the
// user as read then rather than asking the database again (a round trip of
// every request of the API and the console), UserListVersion the org's
// user-list version read with them, if it was (an API token's check), and
// FindSCIMToken an identity provider's SCIM token. A read outside a
// transaction never saw one moment anyway; a change reads the actor again
// in its transaction.
type authenticatedTx struct {
	muster.Tx
	user        *muster.User // nil for a SCIM token
	listVersion int64
	scimToken   *muster.SCIMToken // nil for a user
}

func (tx authenticatedTx) UserListVersion(ctx context.Context, orgID int64) (int64, error) {
	if tx.user != nil && tx.listVersion != 0 && tx.user.OrgID == orgID {
		return tx.listVersion, nil
	}
	return tx.Tx.UserListVersion(ctx, orgID)
}

func (tx authenticatedTx) FindSCIMToken(ctx context.Context, orgID, id int64) (*muster.SCIMToken, error) {
	if tx.scimToken != nil && tx.scimToken.OrgID == orgID && tx.scimToken.ID == id {
		t := *tx.scimToken
		return &t, nil
	}
	return tx.Tx.FindSCIMToken(ctx, orgID, id)
}

func (tx authenticatedTx) PeekUser(ctx context.Context, orgID, id int64) (*muster.User, error) {
	if tx.user != nil && tx.user.OrgID == orgID && tx.user.ID == id {
		u := *tx.user
		return &u, nil
	}
	return tx.Tx.PeekUser(ctx, orgID, id)
}

// bulkReads are what a transaction of an import's batch reads once for all
// its rows rather than once a row: the org (its name for the emails), its
// single sign-on connection, and the teams it has share-locked.
type bulkReads struct {
	org     *muster.Org
	sso     *muster.SSOConnection
	ssoRead bool
	teams   map[int64]*muster.Team
}

// FindOrg reads the org, once per batch of an import.
func (tx *txn) FindOrg(ctx context.Context, id int64) (*muster.Org, error) {
	if tx.bulk == nil {
		return tx.Tx.FindOrg(ctx, id)
	}
	if tx.bulk.org == nil || tx.bulk.org.ID != id {
		org, err := tx.Tx.FindOrg(ctx, id)
		if err != nil {
			return nil, err
		}
		tx.bulk.org = org
	}
	org := *tx.bulk.org
	return &org, nil
}

// FindSSOConnection reads the org's connection, once per batch of an
// import.
func (tx *txn) FindSSOConnection(ctx context.Context, orgID int64) (*muster.SSOConnection, error) {
	if tx.bulk == nil {
		return tx.Tx.FindSSOConnection(ctx, orgID)
	}
	if !tx.bulk.ssoRead {
		c, err := tx.Tx.FindSSOConnection(ctx, orgID)
		if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
			return nil, err
		}
		tx.bulk.sso, tx.bulk.ssoRead = c, true
	}
	if tx.bulk.sso == nil {
		return nil, muster.Errorf(muster.ENOTFOUND, "SSO connection not found.")
	}
	c := *tx.bulk.sso
	return &c, nil
}

// FindTeamShared share-locks a team once per batch of an import: the lock
// holds until the commit.
func (tx *txn) FindTeamShared(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	if tx.bulk == nil {
		return tx.Tx.FindTeamShared(ctx, orgID, id)
	}
	if t, ok := tx.bulk.teams[id]; ok && t.OrgID == orgID {
		return t, nil
	}
	t, err := tx.Tx.FindTeamShared(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if tx.bulk.teams == nil {
		tx.bulk.teams = map[int64]*muster.Team{}
	}
	tx.bulk.teams[id] = t
	return t, nil
}
