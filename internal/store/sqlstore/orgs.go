package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// CountOrgs implements muster.Tx.
func (tx *Tx) CountOrgs(ctx context.Context) (int, error) {
	if tx.writes && tx.dialect.LockOrgs != "" {
		if _, err := tx.exec(ctx, tx.dialect.LockOrgs); err != nil {
			return 0, err
		}
	}
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM orgs`).Scan(&n)
	return n, err
}

// CreateOrg implements muster.Tx: the org's row and its seats' (see
// TakeSeat).
func (tx *Tx) CreateOrg(ctx context.Context, org *muster.Org) error {
	id, err := tx.insert(ctx, `INSERT INTO orgs (name, region, email_at_scale, created_at) VALUES ($1, $2, $3, $4)`,
		org.Name, org.Region, org.EmailAtScale, micros(org.CreatedAt))
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO org_seats (org_id, license_total, seats_used) VALUES ($1, $2, $3)`,
		id, org.LicenseTotal, org.SeatsUsed); err != nil {
		return err
	}
	org.ID, org.Version = id, 1
	return nil
}

// FindOrg implements muster.Tx.
func (tx *Tx) FindOrg(ctx context.Context, id int64) (*muster.Org, error) {
	var o muster.Org
	err := tx.queryRow(ctx, `SELECT `+orgColumns+` `+orgFrom(`$1`, ``), id).Scan(orgFields(&o)...)
	if err != nil {
		return nil, notFound(err, "Organization")
	}
	o.SeatsUsed -= tx.released[id] // freed by this transaction, written at its commit
	return &o, nil
}

// FindOrgSharingTeams implements muster.Tx: ShareTeams' query as a WITH
// clause joined to the org's row, which comes once for each team (once
// with none), with the org's webhook subscribers in a column.
func (tx *Tx) FindOrgSharingTeams(ctx context.Context, id int64, teamIDs []int64) (*muster.Org, []int64, []*muster.WebhookSubscriber, error) {
	if len(teamIDs) > teamIDChunk {
		o, _, subs, err := tx.FindOrgSharingTeams(ctx, id, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		found, err := tx.ShareTeams(ctx, id, teamIDs)
		slices.Sort(found)
		return o, found, subs, err
	}
	with, org, team, join, args := ``, `$1`, `NULL`, ``, []any{id}
	if len(teamIDs) > 0 {
		var shared string
		shared, args = tx.shareTeamsQuery(id, teamIDs)
		with, org = `WITH shared AS (`+shared+`) `, `$`+itoa(len(args)) // the org is shareTeamsQuery's last argument
		team, join = `shared.id`, `LEFT JOIN shared ON TRUE`
	}
	query := with + `SELECT ` + orgColumns + `, ` + subscribersColumn(org) + `, ` + team + ` ` + orgFrom(org, join)
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	var (
		o     *muster.Org
		found []int64
		list  sql.NullString
	)
	for rows.Next() {
		o = &muster.Org{}
		var team sql.NullInt64
		if err := rows.Scan(append(orgFields(o), &list, &team)...); err != nil {
			return nil, nil, nil, failed(query, err)
		}
		if team.Valid {
			found = append(found, team.Int64)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, failed(query, err)
	}
	if o == nil {
		return nil, nil, nil, muster.Errorf(muster.ENOTFOUND, "Organization not found.")
	}
	subs, err := parseSubscribers(list.String)
	if err != nil {
		return nil, nil, nil, err
	}
	o.SeatsUsed -= tx.released[id]
	slices.Sort(found)
	return o, found, subs, nil
}

// orgColumns are what an org is read with (orgFields), from orgFrom.
const orgColumns = `o.id, o.name, o.region, s.license_total, s.seats_used, o.email_at_scale, o.created_at, o.version,
		EXISTS (SELECT 1 FROM sso_connections c WHERE c.org_id = o.id AND c.enabled)`

// orgFrom is the rest of a query of orgColumns: the org whose id is the
// parameter id, its row joined to join's if join is set.
func orgFrom(id, join string) string {
	return `FROM orgs o JOIN org_seats s ON s.org_id = o.id ` + join + ` WHERE o.id = ` + id
}

// orgFields are the destinations of orgColumns in o.
func orgFields(o *muster.Org) []any {
	return []any{&o.ID, &o.Name, &o.Region, &o.LicenseTotal, &o.SeatsUsed, &o.EmailAtScale, nullTime{&o.CreatedAt},
		&o.Version, &o.SSOEnabled}
}

// TakeSeat implements muster.Tx. The conditional update is the whole seat
// check: it takes the lock of the org's seats row, so concurrent
// invitations on any number of instances queue behind it and never push
// seats_used past the total. The seats have a row of their own, not the
// org's: the foreign keys to the org take a key-share lock of the org's row,
// which beside the seat's lock became a multixact at each of the
// invitation's inserts (migration 00023).
func (tx *Tx) TakeSeat(ctx context.Context, orgID int64) (bool, error) {
	return tx.takeSeats(ctx, orgID, 1)
}

// ReleaseSeat implements muster.Tx. The seat is written last before the
// commit, with the member counts noted (flushPending): the org's seats row
// is then locked for the commit alone.
func (tx *Tx) ReleaseSeat(_ context.Context, orgID int64) error {
	tx.releaseSeats(orgID, 1)
	return nil
}

// takeSeats takes n seats of the org, net of those the transaction freed
// there and has not written yet, which the same statement writes, after
// the member counts noted so far (see countMembers) and the writes waiting
// for the next statement, and reports whether there were as many free. An
// invitation takes its seat last, so on PostgreSQL its counts, link, email
// and audit event go in the seat's round trip, before the statement locks
// the org's seats row (execAfterPending).
func (tx *Tx) takeSeats(ctx context.Context, orgID int64, n int) (bool, error) {
	res, err := tx.execAfterPending(ctx, `UPDATE org_seats SET seats_used = seats_used + $2
		WHERE org_id = $1 AND seats_used + $2 <= license_total`, orgID, n-tx.released[orgID])
	if err != nil {
		return false, err
	}
	taken, err := res.RowsAffected()
	if taken > 0 {
		delete(tx.released, orgID)
	}
	return taken > 0, err
}

// releaseSeats notes n seats of the org freed, for flushPending to write.
func (tx *Tx) releaseSeats(orgID int64, n int) {
	if tx.released == nil {
		tx.released = map[int64]int{}
	}
	tx.released[orgID] += n
}

// SetEmailAtScale implements muster.Tx.
func (tx *Tx) SetEmailAtScale(ctx context.Context, orgID int64, on bool) error {
	_, err := tx.exec(ctx, `UPDATE orgs SET email_at_scale = $2, version = version + 1 WHERE id = $1`, orgID, on)
	return err
}

// SetLicenseTotal implements muster.Tx: the seats row first, as a seat
// taken locks it, then the org's version.
func (tx *Tx) SetLicenseTotal(ctx context.Context, orgID int64, total int) (bool, error) {
	ok, err := tx.affected(ctx, `UPDATE org_seats SET license_total = $2
		WHERE org_id = $1 AND seats_used - $3 <= $2`, orgID, total, tx.released[orgID])
	if !ok || err != nil {
		return false, err
	}
	_, err = tx.exec(ctx, `UPDATE orgs SET version = version + 1 WHERE id = $1`, orgID)
	return err == nil, err
}

// FindOrgByName implements muster.Tx. Names are compared as
// muster.SearchKey folds them, in Go, so that both dialects fold case alike
// (SQLite's lower() knows only ASCII); it reads every organization's name,
// which is cheap for the few organizations of a deployment and serves only
// the operator commands.
func (tx *Tx) FindOrgByName(ctx context.Context, name string) (*muster.Org, error) {
	matches, err := tx.findOrgIDsByName(ctx, muster.SearchKey(name))
	if err != nil {
		return nil, fmt.Errorf("finding the organization named %q: %w", name, err)
	}
	switch len(matches) {
	case 0:
		return nil, muster.Errorf(muster.ENOTFOUND, "Organization not found.")
	case 1:
		return tx.FindOrg(ctx, matches[0])
	}
	ids := make([]string, len(matches))
	for i, id := range matches {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return nil, muster.Errorf(muster.ECONFLICT, "%d organizations are named %q: ids %s.",
		len(matches), muster.CleanName(name), strings.Join(ids, ", "))
}

func (tx *Tx) findOrgIDsByName(ctx context.Context, key string) ([]int64, error) {
	rows, err := tx.query(ctx, `SELECT id, name FROM orgs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		if muster.SearchKey(name) == key {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}
