package service

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/muster-app/muster/internal/importcsv"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/report"
)

// ImportAction is what an import does to one row's person (BULK-1).
type ImportAction string

// The actions of an import's rows.
const (
	// ImportInvite invites a new person.
	ImportInvite ImportAction = "invite"
	// ImportReinvite invites a Deactivated user again.
	ImportReinvite ImportAction = "reinvite"
	// ImportUpdate changes the role or teams of a Pending or Active user.
	ImportUpdate    ImportAction = "update"
	ImportUnchanged ImportAction = "unchanged"
	// ImportError is a row that cannot be imported as it is.
	ImportError ImportAction = "error"
)

// ImportActions lists the actions in the order summaries show them.
var ImportActions = []ImportAction{ImportInvite, ImportReinvite, ImportUpdate, ImportUnchanged, ImportError}

// Import settings.
const (
	// ImportTTL is how long a dry run that was not committed is kept.
	ImportTTL = 7 * 24 * time.Hour
	// importBatch is how many rows the job applies per transaction.
	importBatch       = 500
	importMaxAttempts = 5
	// emailChunk is how many emails FindUsersByEmails asks about per query.
	emailChunk = 2048
)

// ImportInput is an uploaded file and what to do with it.
type ImportInput struct {
	FileName string
	File     io.Reader
	// CreateTeams creates, on commit, the teams the file names that do not
	// exist; without it, rows naming them are errors.
	CreateTeams bool
	// Commit queues the plan for the import job in the transaction that
	// stores it, as CommitImport would, when it can be committed; when it
	// cannot, the plan is kept as a dry run and its NotCommitted says why.
	Commit bool
}

// ImportRow is one row of an import's plan: what the file says, cleaned,
// and what the import does with it.
type ImportRow struct {
	Line  int      `json:"line"`
	Cells []string `json:"cells"`
	Email string   `json:"email"`
	// FirstName and LastName are the file's; an update leaves names as
	// they are.
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// RoleCell, PrimaryCell and SecondaryCells are the file's cells as
	// read; HasSecondary says that the file has the Secondary Teams
	// column.
	RoleCell       string              `json:"role_cell,omitempty"`
	PrimaryCell    string              `json:"primary_cell,omitempty"`
	SecondaryCells []string            `json:"secondary_cells,omitempty"`
	HasSecondary   bool                `json:"has_secondary,omitempty"`
	StatusCell     string              `json:"status_cell,omitempty"`
	FileProblems   []importcsv.Problem `json:"file_problems,omitempty"`

	// What the plan says.
	Action ImportAction        `json:"action"`
	Errors []importcsv.Problem `json:"errors,omitempty"`
	// Changes say in words what the row changes ("Role: Basic User →
	// Manager").
	Changes []string `json:"changes,omitempty"`
	// Role, PrimaryTeam and SecondaryTeams are what the person will have.
	Role           muster.Role `json:"role,omitempty"`
	PrimaryTeam    string      `json:"primary_team,omitempty"`
	SecondaryTeams []string    `json:"secondary_teams,omitempty"`
}

// ErrorText is the row's errors in one line, each after its column.
func (r *ImportRow) ErrorText() string {
	parts := make([]string, len(r.Errors))
	for i, p := range r.Errors {
		if p.Column != "" {
			parts[i] = p.Column + ": " + p.Message
		} else {
			parts[i] = p.Message
		}
	}
	return strings.Join(parts, " ")
}

// ImportCounts counts rows by action.
type ImportCounts struct {
	Invite    int `json:"invite"`
	Reinvite  int `json:"reinvite"`
	Update    int `json:"update"`
	Unchanged int `json:"unchanged"`
	Error     int `json:"error"`
}

// Of returns the count of action.
func (c *ImportCounts) Of(action ImportAction) int {
	return *c.ptr(action)
}

func (c *ImportCounts) ptr(action ImportAction) *int {
	switch action {
	case ImportInvite:
		return &c.Invite
	case ImportReinvite:
		return &c.Reinvite
	case ImportUpdate:
		return &c.Update
	case ImportUnchanged:
		return &c.Unchanged
	}
	return &c.Error
}

// ImportSummary is what a dry run found, beside its rows.
type ImportSummary struct {
	Header    []string     `json:"header"`
	Delimiter string       `json:"delimiter"`
	Notes     []string     `json:"notes,omitempty"`
	Counts    ImportCounts `json:"counts"`
	// MissingTeams are the teams the file names that do not exist.
	MissingTeams []string `json:"missing_teams,omitempty"`
	SeatsNeeded  int      `json:"seats_needed"`
	SeatsFree    int      `json:"seats_free"`
	SeatsUsed    int      `json:"seats_used"`
	LicenseTotal int      `json:"license_total"`
	// SeatsProblem says, in INV-2's words, that the file needs more seats
	// than are free; empty when it does not.
	SeatsProblem string `json:"seats_problem,omitempty"`
}

// ImportResult is what a commit did: rows by what was done to them, and
// the rows that failed.
type ImportResult struct {
	Invited      int `json:"invited"`
	Reinvited    int `json:"reinvited"`
	Updated      int `json:"updated"`
	Unchanged    int `json:"unchanged"`
	Failed       int `json:"failed"`
	TeamsCreated int `json:"teams_created"`
}

// ImportPlan is an import with its summary, its result so far and, when
// asked for, its rows.
type ImportPlan struct {
	*muster.Import
	Summary ImportSummary
	Result  ImportResult
	// rows opens the plan's rows as stored (planWriter), which EachRow
	// reads a row at a time; nil when the plan was read without them.
	rows planRows
	// NotCommitted says why a plan that ImportInput.Commit asked to commit
	// was kept as a dry run: the EINVALID (rows with errors, too few
	// seats), ESEATS or ECONFLICT error that CommitImport gives.
	NotCommitted error
}

// EachRow calls fn with each of the plan's rows in the file's order, read
// from the plan as stored a row at a time, so that a plan of 100,000 rows
// is never held whole in memory; fn may keep the row. A plan found without
// its rows (FindImport) has none.
func (p *ImportPlan) EachRow(fn func(*ImportRow) error) error {
	if p.rows == nil {
		return nil
	}
	return eachPlanRow(p.rows(), fn)
}

// Committable says why the plan cannot be committed; "" when it can.
func (p *ImportPlan) Committable() string {
	switch {
	case p.Status != muster.ImportPlanned:
		return "This import was committed already."
	case p.Summary.Counts.Error > 0:
		return fmt.Sprintf("%s errors: fix them (the error CSV lists them) and upload the file again.",
			rowsWord(p.Summary.Counts.Error, "has", "have"))
	case p.Summary.SeatsProblem != "":
		return p.Summary.SeatsProblem
	}
	return ""
}

func rowsWord(n int, one, many string) string {
	if n == 1 {
		return "1 row " + one
	}
	return fmt.Sprintf("%d rows %s", n, many)
}

// loadImporter resolves an Owner or Admin, or an operator, who may
// import: an identity provider provisions through SCIM instead.
func loadImporter(ctx context.Context, tx muster.Tx) (*actor, error) {
	a, err := loadAdmin(ctx, tx)
	if err != nil {
		return nil, err
	}
	if a.scim != nil {
		return nil, muster.Errorf(muster.EFORBIDDEN, "A SCIM token provisions users through SCIM, not by import.")
	}
	return a, nil
}

// PlanImport reads an uploaded file and says what importing it would do to
// every row, changing nothing but storing the plan as an import that
// CommitImport can apply (the dry run); with in.Commit, it also commits
// the plan if it can (queuePlan), in the transaction that stores it.
//
// The file is read twice, a record at a time: first for its emails, whose
// users are read in bulk, then to plan each row and write it to the stored
// plan at once. What stays in memory is the emails and the stored plan
// (gzip JSON), not the rows.
func (s *Service) PlanImport(ctx context.Context, in ImportInput) (*ImportPlan, error) {
	file, removeCopy, err := rereadable(in.File)
	if err != nil {
		return nil, err
	}
	defer removeCopy()
	start, err := file.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	var outcome importOutcome
	if idem := idempotencyOf(ctx); idem != nil {
		params := fmt.Sprintf("%q create_teams=%t commit=%t", in.FileName, in.CreateTeams, in.Commit)
		if err := idem.addUpload(params, file, start); err != nil {
			return nil, err
		}
		// A repeat is answered before its file is planned again.
		if replayed, err := s.replayed(ctx, &outcome); err != nil {
			return nil, err
		} else if replayed {
			return s.replayedImport(ctx, outcome)
		}
	}
	emails := newFileEmails()
	head, err := importcsv.Emails(file, emails.add)
	if err != nil {
		return nil, err
	}
	fileName := muster.RecordedText(in.FileName, 200)
	var plan *ImportPlan
	err = s.read(ctx, func(tx *txn) error {
		a, err := loadImporter(ctx, tx)
		if err != nil {
			return err
		}
		p, err := newPlanner(ctx, tx, a, emails, in.CreateTeams)
		if err != nil {
			return err
		}
		if _, err := file.Seek(start, io.SeekStart); err != nil {
			return err
		}
		w, err := newPlanWriter()
		if err != nil {
			return err
		}
		var counts ImportCounts
		i := 0
		row := new(ImportRow) // each row in turn: planned, written, forgotten
		if _, err := importcsv.Stream(file, func(r importcsv.Row) {
			*row = ImportRow{Line: r.Line, Cells: r.Cells, Email: r.Email, FirstName: r.FirstName,
				LastName: r.LastName, RoleCell: r.Role, PrimaryCell: r.PrimaryTeam, SecondaryCells: r.SecondaryTeams,
				HasSecondary: r.HasSecondary, StatusCell: r.Status, FileProblems: r.Problems}
			p.plan(row, emails.keys[i])
			*counts.ptr(row.Action)++
			w.add(row)
			i++
		}); err != nil {
			return err
		}
		rows, err := w.close()
		if err != nil {
			return err
		}
		sum := p.summary(counts)
		sum.Header, sum.Delimiter, sum.Notes = head.Header, string(head.Delimiter), head.Notes
		plan = &ImportPlan{Import: &muster.Import{OrgID: a.orgID, RequestedBy: a.id(), Status: muster.ImportPlanned,
			FileName: fileName, CreateTeams: in.CreateTeams, RowsTotal: i, Plan: rows}, Summary: *sum, rows: planInMemory(rows)}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if plan.Import.Summary, err = encodeJSON(plan.Summary); err != nil {
		return nil, err
	}
	err = change(ctx, s, &outcome, func(tx *txn) error {
		a, err := loadImporter(ctx, tx)
		if err != nil {
			return err
		}
		// A run again (Store.Update) starts from the dry run's plan.
		plan.Status, plan.Result, plan.NotCommitted = muster.ImportPlanned, ImportResult{}, nil
		plan.SeatsReserved, plan.CommittedAt, plan.RequestedBy, plan.Import.Result = 0, time.Time{}, a.id(), ""
		plan.CreatedAt = tx.now
		if err := tx.CreateImport(ctx, plan.Import); err != nil {
			return err
		}
		if in.Commit {
			if why := plan.Committable(); why != "" {
				plan.NotCommitted = muster.Errorf(muster.EINVALID, "%s", why)
			} else if err := queuePlan(ctx, tx, a, plan, plan.rows); err != nil {
				code := muster.ErrorCode(err)
				if code != muster.ECONFLICT && code != muster.ESEATS {
					return err
				}
				plan.NotCommitted = err // nothing was written: the plan stays, a dry run
			}
		}
		outcome = newImportOutcome(plan)
		return nil
	})
	if idem := idempotencyOf(ctx); err == nil && idem != nil && idem.Replayed {
		return s.replayedImport(ctx, outcome)
	}
	plan.Import.Plan = nil // stored; the rows are read from plan.rows
	return plan, err
}

// importOutcome is what an upload under an idempotency key stores for its
// repeats: the import it made, and why it was not committed.
type importOutcome struct {
	ID           int64
	NotCommitted *muster.Error `json:",omitempty"`
}

func newImportOutcome(p *ImportPlan) importOutcome {
	out := importOutcome{ID: p.ID}
	var refusal *muster.Error
	if errors.As(p.NotCommitted, &refusal) {
		out.NotCommitted = &muster.Error{Code: refusal.Code, Message: refusal.Message, Fields: refusal.Fields,
			Reason: refusal.Reason}
	}
	return out
}

// replayedImport answers a repeated upload with the import the first one
// made, as it is now (its job may have run since), with its rows.
func (s *Service) replayedImport(ctx context.Context, outcome importOutcome) (*ImportPlan, error) {
	p, err := s.FindImport(ctx, outcome.ID, true)
	if err != nil {
		return nil, err
	}
	if outcome.NotCommitted != nil {
		p.NotCommitted = outcome.NotCommitted
	}
	return p, nil
}

// rereadable returns the upload as a file the dry run can read twice: r
// itself when it seeks (a file, bytes in memory), otherwise a copy in a
// temporary file, which removeCopy removes. The copy stops a byte past
// importcsv.MaxBytes, which the parser then refuses.
func rereadable(r io.Reader) (file io.ReadSeeker, removeCopy func(), err error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		return rs, func() {}, nil
	}
	tmp, err := os.CreateTemp("", "muster-import-*.csv")
	if err != nil {
		return nil, nil, err
	}
	removeCopy = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	if _, err := io.Copy(tmp, io.LimitReader(r, importcsv.MaxBytes+1)); err != nil {
		removeCopy()
		return nil, nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		removeCopy()
		return nil, nil, err
	}
	return tmp, removeCopy, nil
}

// fileEmails are the emails of a file's rows as the store keys them.
type fileEmails struct {
	// keys[i] is row i's, "" when it is not an email.
	keys []string
	// firstLine is the line on which each email is first; unique lists
	// them in that order.
	firstLine map[string]int
	unique    []string
}

func newFileEmails() *fileEmails {
	return &fileEmails{firstLine: map[string]int{}}
}

// add notes the email of the next row, on line.
func (e *fileEmails) add(email string, line int) {
	key := muster.NormalizeEmail(email)
	if key == "" || !muster.ValidEmail(email) {
		e.keys = append(e.keys, "")
		return
	}
	key = strings.Clone(key) // apart from the row's record, which it would keep in memory
	e.keys = append(e.keys, key)
	if _, ok := e.firstLine[key]; !ok {
		e.firstLine[key] = line
		e.unique = append(e.unique, key)
	}
}

// replanImport plans the rows of a stored plan again, as the actor's org
// is in tx, and refuses (ECONFLICT) when a row would now do other than
// the plan says. Like the dry run it reads the rows twice, a row at a
// time: for their emails, whose users it reads in bulk, then to plan each.
func replanImport(ctx context.Context, tx muster.Tx, a *actor, plan planRows, createTeams bool) (*ImportSummary, error) {
	emails := newFileEmails()
	err := eachPlanRow(plan(), func(r *ImportRow) error {
		emails.add(r.Email, r.Line)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p, err := newPlanner(ctx, tx, a, emails, createTeams)
	if err != nil {
		return nil, err
	}
	var counts ImportCounts
	var changed planChanges
	i := 0
	err = eachPlanRow(plan(), func(r *ImportRow) error {
		planned := r.Action
		p.plan(r, emails.keys[i])
		i++
		*counts.ptr(r.Action)++
		changed.note(r, planned)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := changed.err(); err != nil {
		return nil, err
	}
	return p.summary(counts), nil
}

// newPlanner reads what planning a file's rows needs, in bulk: the org,
// its teams and the users of the file's emails, a few queries for the
// whole file, none per row.
func newPlanner(ctx context.Context, tx muster.Tx, a *actor, emails *fileEmails, createTeams bool) (*planner, error) {
	org, err := tx.FindOrg(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	teamList, err := tx.FindTeams(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	p := &planner{a: a, org: org, teams: teamIndex(teamList), createTeams: createTeams, missing: map[string]string{},
		mine: map[string]*muster.User{}, elsewhere: map[string]bool{}, firstLine: emails.firstLine,
		shared: map[string][]string{}}
	p.indexSemicolonTeams(teamList)
	err = eachUserByEmail(ctx, tx, a.orgID, emails.unique, func(u *muster.User) {
		key := muster.NormalizeEmail(u.Email)
		if u.OrgID == a.orgID {
			p.mine[key] = u
		} else {
			p.elsewhere[key] = true
		}
	})
	return p, err
}

// eachUserByEmail calls fn with each user of the emails (muster.Tx's
// FindUsersByEmails: the org's, and other orgs' live ones), asking about
// emailChunk emails at a time: SQLite holds a statement's list and its
// parse in memory while it runs (11 MiB for a file's 100,000 emails at
// once), and PostgreSQL plans each list by its size.
func eachUserByEmail(ctx context.Context, tx muster.Tx, orgID int64, emails []string, fn func(*muster.User)) error {
	for chunk := range slices.Chunk(emails, emailChunk) {
		users, err := tx.FindUsersByEmails(ctx, orgID, chunk)
		if err != nil {
			return err
		}
		for _, u := range users {
			fn(u)
		}
	}
	return nil
}

// summary is what the planned rows, counted, need of the org.
func (p *planner) summary(counts ImportCounts) *ImportSummary {
	sum := &ImportSummary{Counts: counts}
	for _, name := range p.missingOrder {
		sum.MissingTeams = append(sum.MissingTeams, p.missing[name])
	}
	sum.SeatsNeeded = counts.Invite + counts.Reinvite
	sum.SeatsFree, sum.SeatsUsed, sum.LicenseTotal = p.org.SeatsFree(), p.org.SeatsUsed, p.org.LicenseTotal
	if sum.SeatsNeeded > sum.SeatsFree {
		sum.SeatsProblem = seatsProblem(sum.SeatsNeeded, p.org)
	}
	return sum
}

// seatsProblem is INV-2's refusal for a file that needs more seats than
// are free.
func seatsProblem(needed int, org *muster.Org) string {
	return fmt.Sprintf("No licenses remaining for this file: it needs %d, and %d of %d are in use, so %d %s free. "+
		"Withdraw pending invitations or deactivate users to free seats, raise the license total, or remove rows, "+
		"then run the dry run again.", needed, org.SeatsUsed, org.LicenseTotal, org.SeatsFree(),
		map[bool]string{true: "is", false: "are"}[org.SeatsFree() == 1])
}

// teamIndex maps the lower-case names of teams to them.
func teamIndex(list []*muster.Team) map[string]*muster.Team {
	teams := make(map[string]*muster.Team, len(list))
	for _, t := range list {
		teams[strings.ToLower(t.Name)] = t
	}
	return teams
}

// planner plans rows one after the other.
type planner struct {
	a            *actor
	org          *muster.Org
	teams        map[string]*muster.Team
	teamNames    map[int64]string
	createTeams  bool
	missing      map[string]string // lower-case name → name as first written
	missingOrder []string
	// mine are the org's users the file names, elsewhere the emails of
	// other orgs' live users, by email key; firstLine is the line on which
	// each email is first.
	mine      map[string]*muster.User
	elsewhere map[string]bool
	firstLine map[string]int
	// shared holds one copy of each list of words (a change, secondary
	// teams) that rows have alike: a file's 100,000 invitations say the
	// same few things, each kept once.
	shared map[string][]string
	// semicolonTeams are the teams whose names hold a semicolon, by
	// semicolonKey of their names' parts; semicolonParts is the most parts
	// one has.
	semicolonTeams map[string]string
	semicolonParts int
}

// indexSemicolonTeams notes the teams whose names hold a semicolon, the
// separator of a Secondary Teams cell, which the parser splits them at.
func (p *planner) indexSemicolonTeams(teams []*muster.Team) {
	for _, t := range teams {
		if !strings.Contains(t.Name, ";") {
			continue
		}
		var parts []string
		for part := range strings.SplitSeq(t.Name, ";") {
			if part = muster.CleanName(part); part != "" {
				parts = append(parts, part)
			}
		}
		if len(parts) < 2 {
			continue // "R&D;": the parser reads it whole
		}
		if p.semicolonTeams == nil {
			p.semicolonTeams = map[string]string{}
		}
		p.semicolonTeams[semicolonKey(parts)] = t.Name
		p.semicolonParts = max(p.semicolonParts, len(parts))
	}
}

func semicolonKey(parts []string) string {
	return strings.ToLower(strings.Join(parts, ";"))
}

// secondaryNames are the names of a Secondary Teams cell, as the parser
// split it at each semicolon, with the parts that name one of the org's
// teams whose name holds a semicolon joined back into that team's name,
// and each name once: the export joins a user's secondary teams with "; "
// (AUD-3) and writes each name as it is, so "R&D; Europe; Sales" is the
// team "R&D; Europe" and Sales when the org has such a team, the longest
// name first.
func (p *planner) secondaryNames(parts []string) []string {
	if len(parts) < 2 {
		return parts
	}
	out := make([]string, 0, len(parts))
	for i := 0; i < len(parts); {
		name, next := parts[i], i+1
		for j := min(len(parts), i+p.semicolonParts); j > i+1; j-- {
			if team, ok := p.semicolonTeams[semicolonKey(parts[i:j])]; ok {
				name, next = team, j
				break
			}
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, name) }) {
			out = append(out, name)
		}
		i = next
	}
	return out
}

// share returns the planner's copy of list, which rows share: they never
// change it (it has no room to append to).
func (p *planner) share(list []string) []string {
	if len(list) == 0 {
		return list
	}
	key := strings.Join(list, "\x00")
	if kept, ok := p.shared[key]; ok {
		return kept
	}
	list = slices.Clip(list)
	p.shared[key] = list
	return list
}

func (p *planner) teamName(id int64) string {
	if p.teamNames == nil {
		p.teamNames = map[int64]string{}
		for _, t := range p.teams {
			p.teamNames[t.ID] = t.Name
		}
	}
	return p.teamNames[id]
}

func (p *planner) defaultTeam() string {
	for _, t := range p.teams {
		if t.IsDefault {
			return t.Name
		}
	}
	return "Default Team"
}

// resolveTeam returns the team's name as the org writes it, or records it
// missing.
func (p *planner) resolveTeam(r *ImportRow, column, name string) string {
	key := strings.ToLower(name)
	if t, ok := p.teams[key]; ok {
		return t.Name
	}
	if _, ok := p.missing[key]; !ok {
		p.missing[key] = name
		p.missingOrder = append(p.missingOrder, key)
	}
	if !p.createTeams {
		r.Errors = append(r.Errors, importcsv.Problem{Column: column, Message: fmt.Sprintf(
			"There is no team named %q: create it first, or choose to create the missing teams on commit.", name)})
	} else if name == p.missing[key] {
		return name
	}
	return p.missing[key]
}

// plan plans row r, whose email's key is key ("" when it is not an email).
func (p *planner) plan(r *ImportRow, key string) {
	r.Action, r.Changes, r.Role, r.PrimaryTeam, r.SecondaryTeams = "", nil, "", "", nil
	r.Errors = slices.Clone(r.FileProblems)
	if line := p.firstLine[key]; key != "" && line != r.Line {
		r.Errors = append(r.Errors, importcsv.Problem{Column: importcsv.ColEmail, Message: fmt.Sprintf(
			"%s is on row %d already: each person is on one row.", r.Email, line)})
	}
	u := p.mine[key]
	if u != nil && u.Status == muster.StatusWithdrawn {
		u = nil // a withdrawn invitation left the list: this is a new one
	}
	if key != "" && p.elsewhere[key] && (u == nil || !u.Status.HoldsSeat()) {
		r.Errors = append(r.Errors, importcsv.Problem{Column: importcsv.ColEmail,
			Message: "Another organization already has a user with this email."})
	}
	// What the person will have: the file's cells, and where a cell is
	// empty, what they have now (a new person: Basic User in the Default
	// Team, no secondary team).
	if role, ok := importcsv.ParseRole(r.RoleCell); ok {
		r.Role = role
	} else if u != nil {
		r.Role = u.Role
	} else {
		r.Role = muster.RoleBasic
	}
	switch {
	case r.PrimaryCell != "":
		r.PrimaryTeam = p.resolveTeam(r, importcsv.ColPrimaryTeam, r.PrimaryCell)
	case u != nil:
		r.PrimaryTeam = p.teamName(u.PrimaryTeamID)
	default:
		r.PrimaryTeam = p.defaultTeam()
	}
	var secondaries []string
	if r.HasSecondary || u == nil {
		for _, name := range p.secondaryNames(r.SecondaryCells) {
			secondaries = append(secondaries, p.resolveTeam(r, importcsv.ColSecondaryTeams, name))
		}
	} else {
		for _, id := range u.SecondaryTeamIDs {
			secondaries = append(secondaries, p.teamName(id))
		}
	}
	r.SecondaryTeams = p.share(normalizeTeams(r.PrimaryTeam, secondaries))

	roleError := func(err error) {
		r.Errors = append(r.Errors, importcsv.Problem{Column: importcsv.ColRole, Message: muster.ErrorMessage(err)})
	}
	rowError := func(err error) {
		r.Errors = append(r.Errors, importcsv.Problem{Message: muster.ErrorMessage(err)})
	}
	switch {
	case u == nil:
		r.Action = ImportInvite
		if err := muster.CheckGrantRole(p.a.role, r.Role); err != nil {
			roleError(err)
		}
		r.Changes = p.share([]string{fmt.Sprintf("Invite as %s in %s", r.Role.Label(), teamsText(r.PrimaryTeam, r.SecondaryTeams))})
	case u.Status == muster.StatusDeactivated && strings.EqualFold(r.StatusCell, muster.StatusDeactivated.Label()):
		r.Action = ImportUnchanged // the file agrees that they left
	case u.Status == muster.StatusDeactivated:
		r.Action = ImportReinvite
		if err := muster.CheckManageUser(p.a.role, u.Role); err != nil {
			rowError(err)
		} else if err := muster.CheckGrantRole(p.a.role, r.Role); err != nil {
			roleError(err)
		}
		r.Changes = p.share([]string{fmt.Sprintf("Invite again as %s in %s", r.Role.Label(), teamsText(r.PrimaryTeam, r.SecondaryTeams))})
	default:
		oldSecondaries := make([]string, 0, len(u.SecondaryTeamIDs))
		for _, id := range u.SecondaryTeamIDs {
			oldSecondaries = append(oldSecondaries, p.teamName(id))
		}
		oldSecondaries = normalizeTeams(p.teamName(u.PrimaryTeamID), oldSecondaries)
		roleChange := r.Role != u.Role
		if roleChange {
			r.Changes = append(r.Changes, fmt.Sprintf("Role: %s → %s", u.Role.Label(), r.Role.Label()))
		}
		if old := p.teamName(u.PrimaryTeamID); !strings.EqualFold(old, r.PrimaryTeam) {
			r.Changes = append(r.Changes, fmt.Sprintf("Primary team: %s → %s", old, r.PrimaryTeam))
		}
		if !equalFoldLists(oldSecondaries, r.SecondaryTeams) {
			r.Changes = append(r.Changes, fmt.Sprintf("Secondary teams: %s → %s", listText(oldSecondaries), listText(r.SecondaryTeams)))
		}
		if len(r.Changes) == 0 {
			r.Action = ImportUnchanged
			break
		}
		r.Action = ImportUpdate
		if err := muster.CheckEditUser(p.a.role, p.a.id(), u, roleChange); err != nil {
			rowError(err)
		} else if roleChange {
			if err := muster.CheckGrantRole(p.a.role, r.Role); err != nil {
				roleError(err)
			}
		}
	}
	if len(r.Errors) > 0 {
		r.Action, r.Changes = ImportError, nil
	}
}

// normalizeTeams drops the primary team and repeats from secondaries and
// sorts them, as a user's teams are kept.
func normalizeTeams(primary string, secondaries []string) []string {
	var out []string
	for _, name := range secondaries {
		if strings.EqualFold(name, primary) || slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, name) }) {
			continue
		}
		out = append(out, name)
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}

func equalFoldLists(a, b []string) bool {
	return slices.EqualFunc(a, b, strings.EqualFold)
}

func listText(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func teamsText(primary string, secondaries []string) string {
	if len(secondaries) == 0 {
		return primary
	}
	return primary + " (and " + strings.Join(secondaries, ", ") + ")"
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// planWriter writes a plan's rows as they are stored: a JSON array,
// gzip-compressed, a row at a time (and read so, eachPlanRow), so that the
// JSON of 100,000 rows is never held whole in memory.
type planWriter struct {
	buf  bytes.Buffer
	zw   *gzip.Writer
	enc  *json.Encoder
	rows int
	err  error
}

func newPlanWriter() (*planWriter, error) {
	w := &planWriter{}
	var err error
	if w.zw, err = gzip.NewWriterLevel(&w.buf, gzip.BestSpeed); err != nil {
		return nil, err
	}
	w.enc = json.NewEncoder(w.zw)
	w.enc.SetEscapeHTML(false) // a plan is not HTML; its reader reads & and < as they are
	w.zw.Write([]byte{'['})
	return w, nil
}

// add writes the next row; its error, if any, is close's.
func (w *planWriter) add(r *ImportRow) {
	if w.err != nil {
		return
	}
	if w.rows > 0 {
		w.zw.Write([]byte{','})
	}
	w.rows++
	w.err = w.enc.Encode(r)
}

// close ends the plan and returns it.
func (w *planWriter) close() ([]byte, error) {
	if w.err != nil {
		return nil, w.err
	}
	w.zw.Write([]byte{']'})
	if err := w.zw.Close(); err != nil {
		return nil, err
	}
	return w.buf.Bytes(), nil
}

// planRows opens a plan's rows as planWriter wrote them, from the
// beginning, each time it is called.
type planRows func() io.Reader

// planInMemory is the plan rows, which a dry run has just written.
func planInMemory(rows []byte) planRows {
	return func() io.Reader { return bytes.NewReader(rows) }
}

// storedPlan is the stored plan of import id, read a part at a time
// (muster.ImportTx.FindImportPlanPart), each part in a read of its own:
// the plan does not change once its dry run has stored it, and a read that
// lasted as long as an import's job would hold SQLite's WAL back.
func (s *Service) storedPlan(ctx context.Context, id int64) planRows {
	view := func(fn func(muster.Tx) error) error { return s.store.ViewBulk(ctx, fn) }
	return func() io.Reader { return &planPartsReader{ctx: ctx, view: view, id: id} }
}

// storedPlanIn is the stored plan of import id read in tx, a part at a
// time: a commit's, whose transaction holds a connection already. A read
// of its own would need a second one from the pool, and as many commits
// at once as the pool has connections would each wait for another's for
// good.
func storedPlanIn(ctx context.Context, tx muster.Tx, id int64) planRows {
	view := func(fn func(muster.Tx) error) error { return fn(tx) }
	return func() io.Reader { return &planPartsReader{ctx: ctx, view: view, id: id} }
}

type planPartsReader struct {
	ctx   context.Context
	view  func(fn func(muster.Tx) error) error // runs fn's reads
	id    int64
	next  int    // the part to read next
	part  []byte // what is left of the part read last
	ended bool   // past the last part
}

func (r *planPartsReader) Read(p []byte) (int, error) {
	for len(r.part) == 0 {
		if r.ended {
			return 0, io.EOF
		}
		err := r.view(func(tx muster.Tx) error {
			var err error
			r.part, err = tx.FindImportPlanPart(r.ctx, r.id, r.next)
			return err
		})
		if err != nil {
			return 0, err
		}
		r.ended, r.next = r.part == nil, r.next+1
	}
	n := copy(p, r.part)
	r.part = r.part[n:]
	return n, nil
}

// eachPlanRow calls fn with each row of a stored plan, decoded one at a
// time. The writer puts each row on a line of its own (json.Encoder ends
// each value with a newline and escapes those inside strings), after the
// array's [ or a comma. A plan cut short is an error (gzip's own check).
func eachPlanRow(plan io.Reader, fn func(*ImportRow) error) error {
	zr, err := gzip.NewReader(plan)
	if err != nil {
		return fmt.Errorf("import plan: %w", err)
	}
	br := bufio.NewReaderSize(zr, 64<<10)
	for {
		line, readErr := br.ReadBytes('\n')
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Errorf("import plan: %w", readErr)
		}
		line = bytes.TrimSpace(line)
		line = bytes.TrimLeft(line, "[,")
		switch {
		case len(line) == 0 || string(line) == "]":
		case line[0] != '{':
			return fmt.Errorf("import plan: a line begins with %q", line[0])
		default:
			r := new(ImportRow)
			if !parsePlanRow(line, r) {
				r = new(ImportRow) // what the parser read is dropped
				if err := json.Unmarshal(line, r); err != nil {
					return fmt.Errorf("import plan: %w", err)
				}
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if readErr != nil {
			return nil
		}
	}
}

// importPlan decodes a stored import's summary and result.
func importPlan(imp *muster.Import) (*ImportPlan, error) {
	p := &ImportPlan{Import: imp}
	if err := json.Unmarshal([]byte(imp.Summary), &p.Summary); err != nil {
		return nil, fmt.Errorf("import %d summary: %w", imp.ID, err)
	}
	if imp.Result != "" {
		if err := json.Unmarshal([]byte(imp.Result), &p.Result); err != nil {
			return nil, fmt.Errorf("import %d result: %w", imp.ID, err)
		}
	}
	return p, nil
}

// withProgress fills the plan's progress and result from the batches its
// job has applied.
func withProgress(ctx context.Context, tx muster.Tx, p *ImportPlan) (*ImportPlan, error) {
	if p.Status == muster.ImportPlanned {
		return p, nil
	}
	sum, err := tx.SumImportBatches(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	p.RowsDone = sum.Rows
	p.Result.Invited, p.Result.Reinvited, p.Result.Updated = sum.Invited, sum.Reinvited, sum.Updated
	p.Result.Unchanged, p.Result.Failed = sum.Unchanged, sum.Failed
	return p, nil
}

// FindImport returns one of the org's imports with its summary and result
// so far (its progress), and its rows (EachRow) when withRows is set.
func (s *Service) FindImport(ctx context.Context, id int64, withRows bool) (*ImportPlan, error) {
	var p *ImportPlan
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadImporter(ctx, tx)
		if err != nil {
			return err
		}
		imp, err := tx.FindImport(ctx, a.orgID, id)
		if err != nil {
			return err
		}
		if p, err = importPlan(imp); err != nil {
			return err
		}
		if p, err = withProgress(ctx, tx, p); err != nil || !withRows {
			return err
		}
		p.rows = s.storedPlan(ctx, imp.ID)
		return nil
	})
	return p, err
}

// FindImports lists the org's recent imports, newest first.
func (s *Service) FindImports(ctx context.Context, limit int) ([]*ImportPlan, error) {
	return readAs(ctx, s, loadImporter, func(tx *txn, a *actor) ([]*ImportPlan, error) {
		imps, err := tx.FindImports(ctx, a.orgID, limit)
		if err != nil {
			return nil, err
		}
		out := make([]*ImportPlan, len(imps))
		for i, imp := range imps {
			if out[i], err = importPlan(imp); err != nil {
				return nil, err
			}
			if out[i], err = withProgress(ctx, tx, out[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// FindImportFailures lists the rows an import's commit could not apply.
func (s *Service) FindImportFailures(ctx context.Context, id int64) ([]*muster.ImportFailure, error) {
	return readAs(ctx, s, loadImporter, func(tx *txn, a *actor) ([]*muster.ImportFailure, error) {
		if _, err := tx.FindImport(ctx, a.orgID, id); err != nil {
			return nil, err
		}
		return tx.FindImportFailures(ctx, id)
	})
}

// WriteImportErrors writes the dry run as the file it came from, every row
// with its original cells, and a last column, error, that says what is
// wrong with each row that has an error: the admin fixes the rows in a
// spreadsheet and uploads the file again (the error column is ignored).
// A file that is such an error file already has its error column replaced,
// not kept beside the new one: the dry run's errors are the ones that
// count, and a header with the column twice would be refused. Cells are
// neutralized against formulas as the export's are.
func WriteImportErrors(w io.Writer, p *ImportPlan) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	// kept are the file's columns the error file gives back.
	kept := make([]int, 0, len(p.Summary.Header))
	header := make([]string, 0, len(p.Summary.Header)+1)
	for i, name := range p.Summary.Header {
		if strings.EqualFold(name, importcsv.ColError) {
			continue
		}
		kept = append(kept, i)
		header = append(header, report.Neutralize(importcsv.Unneutralize(name)))
	}
	header = append(header, importcsv.ColError)
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	err := p.EachRow(func(r *ImportRow) error {
		clear(rec)
		for j, i := range kept {
			if i < len(r.Cells) {
				rec[j] = report.Neutralize(importcsv.Unneutralize(r.Cells[i]))
			}
		}
		rec[len(rec)-1] = report.Neutralize(r.ErrorText())
		return cw.Write(rec)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}

// WriteImportFailures writes the rows a commit could not apply: line,
// email and reason.
func WriteImportFailures(w io.Writer, failures []*muster.ImportFailure) error {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write([]string{"Row", "Email", "Reason"}); err != nil {
		return err
	}
	for _, f := range failures {
		if err := cw.Write([]string{fmt.Sprint(f.Line), report.Neutralize(f.Email), report.Neutralize(f.Reason)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CommitImport queues a dry run's plan for the import job (queuePlan).
// Committing an import that is committed already changes nothing and
// returns it.
func (s *Service) CommitImport(ctx context.Context, id int64) (*ImportPlan, error) {
	var p *ImportPlan
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadImporter(ctx, tx)
		if err != nil {
			return err
		}
		imp, err := tx.FindImport(ctx, a.orgID, id)
		if err != nil {
			return err
		}
		if p, err = importPlan(imp); err != nil || imp.Status != muster.ImportPlanned {
			return err
		}
		if why := p.Committable(); why != "" {
			return muster.Errorf(muster.EINVALID, "%s", why)
		}
		return queuePlan(ctx, tx, a, p, storedPlanIn(ctx, tx, imp.ID))
	})
	return p, err
}

// queuePlan queues a committable plan for the import job, after checking,
// in the transaction that queues it, that the org has not changed in a way
// that changes the plan (the rows are planned again: each must do what the
// dry run said) and taking the license seats its invitations need, all at
// once: two imports racing for the last seats never both get them. The
// teams to be created on commit are created here. Its refusals (ECONFLICT,
// ESEATS) come before it writes anything.
func queuePlan(ctx context.Context, tx *txn, a *actor, p *ImportPlan, plan planRows) error {
	sum, err := replanImport(ctx, tx, a, plan, p.CreateTeams)
	if err != nil {
		return err
	}
	if ok, err := tx.TakeSeats(ctx, a.orgID, sum.SeatsNeeded); err != nil {
		return err
	} else if !ok {
		org, err := tx.FindOrg(ctx, a.orgID)
		if err != nil {
			return err
		}
		return muster.Errorf(muster.ESEATS, "Seats were taken since the dry run. %s", seatsProblem(sum.SeatsNeeded, org))
	}
	job := *a
	job.origin = importOrigin(p.ID)
	for _, name := range sum.MissingTeams {
		team := &muster.Team{OrgID: a.orgID, Name: name, CreatedAt: tx.now}
		if err := tx.CreateTeam(ctx, team); err != nil {
			return err
		}
		if err := tx.audit(ctx, &job, muster.ActionTeamCreated, muster.TargetTeam, team.ID, team.Name, nil,
			map[string]any{"name": team.Name}); err != nil {
			return err
		}
		p.Result.TeamsCreated++
	}
	if p.Import.Result, err = encodeJSON(p.Result); err != nil {
		return err
	}
	// The job acts as whoever committed it, with their powers at each
	// batch, not as the dry run's author.
	if ok, err := tx.QueueImport(ctx, p.ID, a.id(), sum.SeatsNeeded, p.Import.Result, tx.now); err != nil || !ok {
		return err
	}
	tx.queued |= QueueImports
	p.Status, p.SeatsReserved, p.CommittedAt, p.RequestedBy = muster.ImportQueued, sum.SeatsNeeded, tx.now, a.id()
	return nil
}

// planChanges are the rows of a plan that would now do other than the
// dry run said.
type planChanges struct {
	n     int
	first []string // the first few, in words
}

// note notes the row r if it would now do other than planned.
func (c *planChanges) note(r *ImportRow, planned ImportAction) {
	if r.Action == planned {
		return
	}
	c.n++
	if len(c.first) < 3 {
		c.first = append(c.first, fmt.Sprintf("row %d (%s) would now %s instead of %s", r.Line, r.Email,
			actionVerb(r.Action), actionVerb(planned)))
	}
}

// err refuses the plan if any row changed.
func (c *planChanges) err() error {
	if c.n == 0 {
		return nil
	}
	more := ""
	if c.n > len(c.first) {
		more = fmt.Sprintf(", and %d more", c.n-len(c.first))
	}
	return muster.Errorf(muster.ECONFLICT, "The organization changed since this dry run: %s%s. "+
		"Nothing was imported; upload the file again for a new dry run.", strings.Join(c.first, "; "), more)
}

func actionVerb(a ImportAction) string {
	switch a {
	case ImportInvite:
		return "invite"
	case ImportReinvite:
		return "invite again"
	case ImportUpdate:
		return "update"
	case ImportUnchanged:
		return "change nothing"
	}
	return "be an error"
}

func importOrigin(id int64) string { return fmt.Sprintf("import %d", id) }

// importWorkers is how many batches of one import run at once: on
// PostgreSQL one batch's statements wait on the server while the other's
// run (SQLite runs them one after the other, grouped into its commits).
// Two, for two cores: at 5,000 rows on PostgreSQL one took 21 s, two 17.5 s
// and four 29 s (their commits queue on the teams' member counts).
const importWorkers = 2

// RunNextImport runs one queued import, or one whose runner died, and
// reports whether there was one: it leases the import as the report runner
// leases reports and applies the batches of its plan not yet applied.
func (s *Service) RunNextImport(ctx context.Context) (bool, error) {
	var imp *muster.Import
	err := s.update(ctx, func(tx *txn) error {
		var err error
		imp, err = tx.LeaseImport(ctx, tx.now, tx.now.Add(s.cfg.ReportLease))
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			imp, err = nil, nil
		}
		return err
	})
	if err != nil || imp == nil {
		return false, err
	}
	err = s.runImport(ctx, imp)
	if err == nil || errors.Is(err, errLeaseLost) {
		return true, nil
	}
	if ctx.Err() != nil {
		return true, ctx.Err() // shutting down: the lease ends and another run goes on
	}
	var refused *importRefusal
	if !errors.As(err, &refused) && imp.Attempts < importMaxAttempts {
		return true, fmt.Errorf("import %d, attempt %d: %w", imp.ID, imp.Attempts, err)
	}
	failErr := s.finishImport(ctx, imp, muster.ImportFailed, muster.ErrorMessage(err))
	return true, fmt.Errorf("import %d failed for good: %w (recording: %v)", imp.ID, err, failErr)
}

// importRefusal ends an import for good: its requester may no longer
// import.
type importRefusal struct{ err error }

func (r *importRefusal) Error() string { return r.err.Error() }
func (r *importRefusal) Unwrap() error { return r.err }

// errLeaseLost: another runner took the import over.
var errLeaseLost = errors.New("import: another runner took the import over")

// errRowRefused: a row of a batch run without savepoints was refused; the
// batch runs again with one per row.
var errRowRefused = errors.New("import: a row was refused")

// errBatchDone: the batch was applied already.
var errBatchDone = errors.New("import: the batch was applied already")

func (s *Service) runImport(ctx context.Context, imp *muster.Import) error {
	var done []int
	err := s.store.ViewBulk(ctx, func(tx muster.Tx) error {
		var err error
		done, err = tx.FindImportBatches(ctx, imp.ID)
		return err
	})
	if err != nil {
		return err
	}
	parent := importContext(ctx, imp)
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	// The lease is renewed while the batches run, a few times per lease.
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		tick := time.NewTicker(s.cfg.ReportLease / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var ok bool
			err := s.update(ctx, func(tx *txn) error {
				var err error
				ok, err = tx.RenewImportLease(ctx, imp.ID, imp.Attempts, tx.now.Add(s.cfg.ReportLease))
				return err
			})
			if err == nil && !ok {
				cancel(errLeaseLost)
				return
			}
		}
	}()
	// The plan's rows are read as the batches go, so that the job holds a
	// few batches in memory, not the whole file.
	type batch struct {
		from int
		rows []*ImportRow
	}
	batches := make(chan batch)
	var wg sync.WaitGroup
	for range importWorkers {
		wg.Go(func() {
			for b := range batches {
				if err := s.applyImportBatch(ctx, imp, b.rows, b.from); err != nil && !errors.Is(err, errBatchDone) {
					cancel(err)
				}
			}
		})
	}
	isDone := map[int]bool{}
	for _, from := range done {
		isDone[from] = true
	}
	next := batch{}
	send := func() error {
		b := next
		next = batch{from: b.from + len(b.rows)}
		if isDone[b.from] {
			return nil
		}
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err = eachPlanRow(s.storedPlan(ctx, imp.ID)(), func(r *ImportRow) error {
		if next.rows = append(next.rows, r); len(next.rows) == importBatch {
			return send()
		}
		return nil
	})
	if err == nil && len(next.rows) > 0 {
		err = send()
	}
	if err != nil && ctx.Err() == nil {
		cancel(err) // the plan could not be read
	}
	close(batches)
	wg.Wait()
	cancel(nil)
	<-renewed
	if err := parent.Err(); err != nil {
		return err // shutting down
	}
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err // a batch failed, or the lease was lost
	}
	return s.finishImport(parent, imp, muster.ImportDone, "")
}

// importContext is ctx for the job of imp, which acts as the person who
// committed it (or the operator), with their powers as they are at each
// batch, and says so in the audit log: origin "import N".
func importContext(ctx context.Context, imp *muster.Import) context.Context {
	return muster.NewContext(ctx, muster.Principal{UserID: imp.RequestedBy, OrgID: imp.OrgID, Origin: importOrigin(imp.ID)})
}

// applyImportBatch applies the batch rows, which starts at the plan's row
// from: all its
// rows at once, or, when a row's writes failed, again a row at a time
// (runImportBatch).
func (s *Service) applyImportBatch(ctx context.Context, imp *muster.Import, rows []*ImportRow, from int) error {
	err := s.runImportBatch(ctx, imp, rows, from, false)
	if errors.Is(err, errRowRefused) {
		err = s.runImportBatch(ctx, imp, rows, from, true)
	}
	return err
}

// runImportBatch applies the batch of rows that starts at from, in one
// transaction that first claims it, through the service's rules
// (applyImportRows). A row the rules refuse is recorded as failed and the
// rest go on. A row whose writes fail (someone invited the person
// meanwhile, which the database's unique emails catch) stops the batch
// with errRowRefused, unless each row runs in a savepoint of its own
// (careful): the batch then runs again carefully, a row at a time.
// Savepoints cost SQLite a journal of each page a row writes, and such
// rows are rare after the commit's check.
func (s *Service) runImportBatch(ctx context.Context, imp *muster.Import, rows []*ImportRow, from int, careful bool) error {
	return s.update(ctx, func(tx *txn) error {
		if err := tx.ClaimImportBatch(ctx, imp.ID, from); muster.ErrorCode(err) == muster.ECONFLICT {
			return errBatchDone
		} else if err != nil {
			return err
		}
		a, err := loadImporter(ctx, tx)
		if err != nil {
			return &importRefusal{muster.Errorf(muster.EFORBIDDEN,
				"The import stopped: whoever committed it may no longer import users (%s)", muster.ErrorMessage(err))}
		}
		teamList, err := tx.FindTeams(ctx, imp.OrgID)
		if err != nil {
			return err
		}
		teams := teamIndex(teamList)
		b := &muster.ImportBatch{FirstRow: from, Rows: len(rows)}
		tx.bulkMail, tx.bulk = true, &bulkReads{}
		for _, r := range rows {
			if r.Action == ImportInvite || r.Action == ImportReinvite {
				tx.reservedSeats++ // the commit reserved a seat for each
			}
		}
		reserved := tx.reservedSeats
		refused := map[*ImportRow]error{}
		if careful {
			for _, r := range rows {
				before := tx.reservedSeats
				var rowRefused map[*ImportRow]error
				err := tx.Savepoint(ctx, func() error {
					var err error
					rowRefused, err = s.applyImportRows(ctx, tx, a, []*ImportRow{r}, teams)
					return err
				})
				if muster.ErrorCode(err) == muster.EINTERNAL {
					return err
				} else if err != nil {
					tx.reservedSeats = before
					rowRefused = map[*ImportRow]error{r: err}
				}
				maps.Copy(refused, rowRefused)
			}
		} else {
			var err error
			if refused, err = s.applyImportRows(ctx, tx, a, rows, teams); muster.ErrorCode(err) == muster.EINTERNAL {
				return err
			} else if err != nil {
				return errRowRefused
			}
		}
		for _, r := range rows {
			if why, ok := refused[r]; ok {
				b.Failed++
				cells, _ := json.Marshal(r.Cells)
				if err := tx.CreateImportFailure(ctx, &muster.ImportFailure{ImportID: imp.ID, Line: r.Line, Email: r.Email,
					Reason: muster.ErrorMessage(why), Cells: string(cells)}); err != nil {
					return err
				}
				continue
			}
			switch r.Action {
			case ImportInvite:
				b.Invited++
			case ImportReinvite:
				b.Reinvited++
			case ImportUpdate:
				b.Updated++
			case ImportUnchanged:
				b.Unchanged++
			}
		}
		b.SeatsUsed = reserved - tx.reservedSeats
		return tx.SaveImportBatch(ctx, imp.ID, b)
	})
}

// finishImport ends the import's run and gives back the seats the commit
// reserved that its invitations did not use.
func (s *Service) finishImport(ctx context.Context, imp *muster.Import, status muster.ImportStatus, lastError string) error {
	return s.update(ctx, func(tx *txn) error {
		cur, err := tx.FindImport(ctx, imp.OrgID, imp.ID)
		if err != nil {
			return err
		}
		sum, err := tx.SumImportBatches(ctx, imp.ID)
		if err != nil {
			return err
		}
		ok, err := tx.FinishImport(ctx, imp.ID, imp.Attempts, status, tx.now, lastError)
		if err != nil || !ok {
			return err
		}
		return tx.ReleaseSeats(ctx, imp.OrgID, cur.SeatsReserved-sum.SeatsUsed)
	})
}

// applyImportRows makes the planned rows through the service's own rules,
// with their audit events and emails: the invitations under Invite's rules
// (and InviteAgain's, for a Deactivated user), decided on facts read once
// for all of them and written together (writeInvitations); the updates
// under UpdateUser's, one by one. It returns the rows the rules refused,
// and why: those write nothing. An error is a write that failed.
func (s *Service) applyImportRows(ctx context.Context, tx *txn, a *actor, rows []*ImportRow, teams map[string]*muster.Team) (map[*ImportRow]error, error) {
	refused := map[*ImportRow]error{}
	var inviting []*ImportRow
	var ins []InviteInput
	for _, r := range rows {
		if r.Action != ImportInvite && r.Action != ImportReinvite && r.Action != ImportUpdate {
			continue
		}
		primary, secondaries, err := importTeams(r, teams)
		if err != nil {
			refused[r] = err
			continue
		}
		if r.Action == ImportUpdate {
			if err := s.updateImported(ctx, tx, a, r, primary, secondaries); err != nil {
				return nil, err
			}
			continue
		}
		in := InviteInput{FirstName: r.FirstName, LastName: r.LastName, Email: r.Email, Role: r.Role,
			PrimaryTeamID: primary, SecondaryTeamIDs: secondaries}
		if err := checkInviteInput(a, &in); err != nil {
			refused[r] = err
			continue
		}
		inviting, ins = append(inviting, r), append(ins, in)
	}
	if len(inviting) == 0 {
		return refused, nil
	}
	facts, err := readInviteFacts(ctx, tx, a.orgID, ins)
	if err != nil {
		return nil, err
	}
	invs := make([]*invitation, 0, len(ins))
	for i, r := range inviting {
		in := ins[i]
		if r.Action == ImportReinvite {
			u := facts.records[muster.NormalizeEmail(in.Email)]
			if u == nil {
				refused[r] = muster.Errorf(muster.ENOTFOUND, "User not found.")
				continue
			}
			if err := muster.CheckTransition(muster.ActionUserReinvited, u.Status); err != nil {
				refused[r] = err
				continue
			}
			in.ExternalID = reinvitation(u).ExternalID
		}
		inv, err := facts.check(a, in)
		if err != nil {
			refused[r] = err
			continue
		}
		invs = append(invs, inv)
	}
	_, err = s.writeInvitations(ctx, tx, a, facts, invs)
	return refused, err
}

// importTeams returns the ids of the row's primary and secondary teams,
// found by name.
func importTeams(r *ImportRow, teams map[string]*muster.Team) (int64, []int64, error) {
	team := func(name string) (int64, error) {
		t, ok := teams[strings.ToLower(name)]
		if !ok {
			return 0, muster.Errorf(muster.EINVALID, "There is no team named %q any more.", name)
		}
		return t.ID, nil
	}
	primary, err := team(r.PrimaryTeam)
	if err != nil {
		return 0, nil, err
	}
	secondaries := make([]int64, 0, len(r.SecondaryTeams))
	for _, name := range r.SecondaryTeams {
		id, err := team(name)
		if err != nil {
			return 0, nil, err
		}
		secondaries = append(secondaries, id)
	}
	return primary, secondaries, nil
}

// updateImported makes an update row under UpdateUser's rules (editUser).
func (s *Service) updateImported(ctx context.Context, tx *txn, a *actor, r *ImportRow, primary int64, secondaries []int64) error {
	u, err := tx.FindUserByEmail(ctx, a.orgID, r.Email)
	if err != nil {
		return err
	}
	if u.Status == muster.StatusWithdrawn {
		return muster.Errorf(muster.ECONFLICT, "The invitation of %s was withdrawn since the dry run.", u.Email)
	}
	return s.editUser(ctx, tx, a, u, importedUpdate(r, primary, secondaries))
}

// importedUpdate is what an update row changes: what its cells set. An
// empty cell (or no Secondary Teams column) leaves what the user has when
// the row is applied, not what the dry run saw: a change made since, in
// the console or through SCIM, stays.
func importedUpdate(r *ImportRow, primary int64, secondaries []int64) UserUpdate {
	var upd UserUpdate
	if _, ok := importcsv.ParseRole(r.RoleCell); ok {
		upd.Role = &r.Role
	}
	if r.PrimaryCell != "" {
		upd.PrimaryTeamID = &primary
	}
	if r.HasSecondary {
		upd.SecondaryTeamIDs = &secondaries
	}
	return upd
}
