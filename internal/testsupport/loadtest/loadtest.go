// Package loadtest drives a running Muster through its JSON API with
// concurrent clients and measures it (issue: scale). It seeds an org through
// the service layer, so every rule and audit event applies to the seed too.
package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// Config is one load run.
type Config struct {
	URL         string // the server, e.g. http://127.0.0.1:8080
	Users       int    // users to seed before the phases
	Clients     int    // concurrent HTTP clients
	Invites     int    // invitations in the invite phase
	Reads       int    // requests in the read phase
	DeactivateP int    // percent of seeded users deactivated in the last phase
	SCIMCreates int    // users created in the scim-create phase
	SCIMGroups  int    // groups pushed in the scim-groups phase
	// Orgs is how many orgs the invite-orgs phase spreads its Invites over:
	// the seeded one and Orgs-1 more, each with its own Owner's token.
	Orgs int
	// Phases names the phases to run, in order: "invite", "read" and
	// "deactivate" (DefaultPhases), or "page", "search" and "get", each one
	// kind of the read phase's requests alone (Reads requests each), or
	// SCIM's: "scim-create" (SCIMCreates POST /scim/v2/Users) and
	// "scim-filter" (Reads GET /scim/v2/Users?filter=userName eq "…" of
	// seeded users, in upper case) and "scim-groups" (SCIMGroups pushes of
	// a group as Okta pushes one: a lookup by displayName, then
	// POST /scim/v2/Groups with one member). "cursor" fetches a page of the list by
	// its cursor at a random depth, and "deep-read" mixes it with searches
	// and users by id, a third each (an identity provider's or a
	// dashboard's polling); "poll" fetches such pages with If-None-Match,
	// the ETag each had when last read (after its first read, a 304 while
	// no user changes); "invite-orgs" sends Invites invitations spread
	// over Orgs orgs.
	Phases []string
	// ServerPID, if not 0, is sampled for RSS and CPU time.
	ServerPID int
}

// Seed is what the phases need from the seeded org.
type Seed struct {
	Token  string
	Teams  []int64
	Users  []int64 // every seeded user
	Active []int64 // seeded users who accepted, to deactivate
	// SCIMToken is a SCIM token of the org; Emails are the seeded users'
	// emails, which the scim-filter phase looks up.
	SCIMToken string
	Emails    []string
	// Members are seeded Pending users, whom no phase deactivates: the
	// scim-groups phase's groups' members.
	Members []int64
	// Cursors are the cursors of the list's pages of PageSize, in order:
	// the "cursor" phase fetches them at random depths.
	Cursors []string
	// Orgs are the invite-orgs phase's orgs, the seeded one first.
	Orgs []*OrgSeed
}

// OrgSeed is an org the invite-orgs phase invites into.
type OrgSeed struct {
	Token string
	Teams []int64
}

// PageSize is the length of the list's pages the phases fetch.
const PageSize = 50

var firstNames = strings.Fields(`Ada Alan Alice Amir Ana Andrea Anna Arjun Ben Bianca Carla Carlos Chen Chloe Daniel
	David Diego Elena Emma Eva Farah Felix Grace Hana Hugo Ines Isaac Ivan Jack James Jana Jin Jonas Julia Kai Kenji Lara
	Leo Lina Lucas Luis Maya Mei Mia Milan Nadia Nina Noah Nora Omar Oscar Paula Pedro Priya Rafael Rosa Ruth Sam Sara
	Sofia Tariq Tom Uma Victor Wei Yara Yusuf Zoe`)

var lastNames = strings.Fields(`Abbott Adams Ahmed Alvarez Baker Bauer Becker Brown Campbell Chen Clark Costa Davies
	Diaz Dubois Evans Fischer Garcia Gomez Green Hall Hansen Hoffmann Hughes Ito Jansen Jones Kim Klein Kowalski Lee
	Lopez Martin Meyer Miller Moreau Muller Nguyen Novak Ortiz Park Patel Perez Quinn Rossi Santos Schmidt Silva Singh
	Smith Suzuki Tanaka Taylor Thomas Torres Wagner Walker Wang White Wilson Wong Young Zhang`)

// NewSeed creates an org with cfg.Users users (DeactivateP percent of them
// Active) through svc, an API token for its Owner, and 20 teams.
func NewSeed(ctx context.Context, svc *service.Service, cfg Config) (*Seed, error) {
	owner, org, err := newOrg(ctx, svc, "Load Test", cfg.Users+cfg.Invites+cfg.SCIMCreates+10, 20)
	if err != nil {
		return nil, err
	}
	seed := &Seed{Token: org.Token, Teams: org.Teams}
	if seed.SCIMToken, err = scimToken(owner, svc); err != nil {
		return nil, err
	}
	activate := cfg.Users * cfg.DeactivateP / 100
	var mu sync.Mutex
	err = parallel(ctx, cfg.Clients, cfg.Users, func(i int) error {
		res, err := svc.Invite(owner, seed.invite(i, "seed"))
		if err != nil {
			return err
		}
		if i < activate {
			if _, err := svc.AcceptInvitation(ctx, linkToken(res.Link), loadPassword, service.Client{IP: "127.0.0.1"}); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		seed.Users = append(seed.Users, res.User.ID)
		seed.Emails = append(seed.Emails, res.User.Email)
		if i < activate {
			seed.Active = append(seed.Active, res.User.ID)
		} else {
			seed.Members = append(seed.Members, res.User.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if seed.Cursors, err = listCursors(owner, svc); err != nil {
		return nil, err
	}
	return seed, seed.addOrgs(ctx, svc, cfg)
}

// listCursors collects the cursors of the org's list, page by page, as its
// Owner who acts in owner.
func listCursors(owner context.Context, svc *service.Service) ([]string, error) {
	var cursors []string
	for q := (service.UserQuery{Limit: PageSize}); ; {
		page, err := svc.FindUsers(owner, q)
		if err != nil || page.NextCursor == "" {
			return cursors, err
		}
		cursors = append(cursors, page.NextCursor)
		q.Cursor = page.NextCursor
	}
}

// addOrgs creates the invite-orgs phase's cfg.Orgs-1 orgs beside the seeded
// one, each with seats for its share of the invitations.
func (s *Seed) addOrgs(ctx context.Context, svc *service.Service, cfg Config) error {
	s.Orgs = []*OrgSeed{{Token: s.Token, Teams: s.Teams}}
	for i := 1; i < cfg.Orgs; i++ {
		_, org, err := newOrg(ctx, svc, fmt.Sprintf("Load Test %d", i+1), cfg.Invites+10, 2)
		if err != nil {
			return err
		}
		s.Orgs = append(s.Orgs, org)
	}
	return nil
}

// loadPassword is the seeded users' password.
const loadPassword = "load test password"

// linkToken is the token at the end of an invitation or setup link.
func linkToken(link string) string { return link[strings.LastIndex(link, "/")+1:] }

// newOrg creates an org with seats for seats users, its Owner (signed up
// through the setup link), who acts in owner, an API token of theirs and
// teams teams.
func newOrg(ctx context.Context, svc *service.Service, name string, seats, teams int) (owner context.Context, _ *OrgSeed, _ error) {
	op := muster.NewContext(ctx, muster.Principal{Origin: "load"})
	setup, err := svc.CreateOrg(op, service.NewOrg{Name: name, LicenseTotal: seats,
		OwnerEmail: fmt.Sprintf("owner-%d@load.example", rand.Int64()), OwnerFirstName: "Load", OwnerLastName: "Owner"})
	if err != nil {
		return nil, nil, err
	}
	signedIn, err := svc.AcceptInvitation(ctx, linkToken(setup.SetupURL), loadPassword, service.Client{IP: "127.0.0.1"})
	if err != nil {
		return nil, nil, err
	}
	owner = muster.NewContext(ctx, muster.Principal{UserID: signedIn.User.ID, OrgID: setup.Org.ID, Origin: "load"})
	tok, err := svc.CreateAPIToken(owner, "load test", time.Time{})
	if err != nil {
		return nil, nil, err
	}
	org := &OrgSeed{Token: tok.Secret}
	for i := range teams {
		t, err := svc.CreateTeam(owner, fmt.Sprintf("Team %02d", i+1))
		if err != nil {
			return nil, nil, err
		}
		org.Teams = append(org.Teams, t.ID)
	}
	return owner, org, nil
}

// SeedExisting prepares the phases over an org that is already seeded (in
// bulk): an API token for its Owner, who acts in owner, its teams, its
// users and its list's cursors, cfg.DeactivateP percent of cfg.Users of its
// Active users, and the invite-orgs phase's other orgs.
func SeedExisting(owner context.Context, svc *service.Service, cfg Config) (*Seed, error) {
	seed, err := newTokens(owner, svc)
	if err != nil {
		return nil, err
	}
	teams, err := svc.TeamNames(owner)
	if err != nil {
		return nil, err
	}
	for _, t := range teams {
		seed.Teams = append(seed.Teams, t.ID)
	}
	deactivate := cfg.Users * cfg.DeactivateP / 100
	for q := (service.UserQuery{Limit: PageSize}); ; {
		page, err := svc.FindUsers(owner, q)
		if err != nil {
			return nil, err
		}
		for _, u := range page.Users {
			seed.Users = append(seed.Users, u.ID)
			seed.Emails = append(seed.Emails, u.Email)
			if u.Status == muster.StatusActive && u.Role != muster.RoleOwner && len(seed.Active) < deactivate {
				seed.Active = append(seed.Active, u.ID)
			}
			if u.Status == muster.StatusPending {
				seed.Members = append(seed.Members, u.ID)
			}
		}
		if page.NextCursor == "" {
			break
		}
		seed.Cursors = append(seed.Cursors, page.NextCursor)
		q.Cursor = page.NextCursor
	}
	// Shuffled, so that reads and deactivations spread over the list
	// rather than follow its alphabetical order.
	rand.Shuffle(len(seed.Users), func(i, j int) { seed.Users[i], seed.Users[j] = seed.Users[j], seed.Users[i] })
	rand.Shuffle(len(seed.Emails), func(i, j int) { seed.Emails[i], seed.Emails[j] = seed.Emails[j], seed.Emails[i] })
	return seed, seed.addOrgs(owner, svc, cfg)
}

// newTokens creates the API token and the SCIM token the phases use, as
// the Owner who acts in owner.
func newTokens(owner context.Context, svc *service.Service) (*Seed, error) {
	tok, err := svc.CreateAPIToken(owner, "load test", time.Time{})
	if err != nil {
		return nil, err
	}
	scim, err := scimToken(owner, svc)
	if err != nil {
		return nil, err
	}
	return &Seed{Token: tok.Secret, SCIMToken: scim}, nil
}

// scimToken creates a SCIM token as the Owner who acts in owner.
func scimToken(owner context.Context, svc *service.Service) (string, error) {
	tok, err := svc.CreateSCIMToken(owner, "load test")
	if err != nil {
		return "", err
	}
	return tok.Secret, nil
}

// invite is the i-th invitation: a primary and a secondary team.
func (s *Seed) invite(i int, tag string) service.InviteInput {
	primary := s.Teams[i%len(s.Teams)]
	secondary := s.Teams[(i+7)%len(s.Teams)]
	return service.InviteInput{FirstName: firstNames[i%len(firstNames)], LastName: lastNames[(i/len(firstNames))%len(lastNames)],
		Email: fmt.Sprintf("%s-%d-%d@load.example", tag, i, rand.Int64()), Role: muster.RoleBasic,
		PrimaryTeamID: primary, SecondaryTeamIDs: []int64{secondary}}
}

// parallel runs fn(0..n-1) on c goroutines and returns the first error.
func parallel(ctx context.Context, c, n int, fn func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// Result is one phase's figures.
type Result struct {
	Phase      string  `json:"phase"`
	Ops        int     `json:"ops"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	P50ms      float64 `json:"p50_ms"`
	P95ms      float64 `json:"p95_ms"`
	P99ms      float64 `json:"p99_ms"`
	Maxms      float64 `json:"max_ms"`
	PeakRSSMiB float64 `json:"server_peak_rss_mib"`
	CPUSeconds float64 `json:"server_cpu_seconds"`
	// DBCPUSeconds is the CPU time of the PostgreSQL backends serving the
	// server (0 on SQLite), LoadCPUSeconds this program's own.
	DBCPUSeconds   float64 `json:"db_cpu_seconds"`
	LoadCPUSeconds float64 `json:"load_cpu_seconds"`
	// RoundTrips is the statements the server sent to PostgreSQL during
	// the phase (its /metrics), background work included; 0 on SQLite.
	RoundTrips float64 `json:"db_round_trips"`
	FirstError string  `json:"first_error,omitempty"`
}

// Client sends API requests with a token.
type Client struct {
	// URL is the server's, or several servers' separated by commas
	// (instances sharing one database), which the requests take in turn.
	URL   string
	Token string
	HTTP  *http.Client
	next  atomic.Uint64
}

// servers are the URLs of c.URL.
func (c *Client) servers() []string { return strings.Split(c.URL, ",") }

// server is the next request's server.
func (c *Client) server() string {
	s := c.servers()
	return s[c.next.Add(1)%uint64(len(s))]
}

// Do sends one request and fails unless the status is want.
func (c *Client) Do(ctx context.Context, method, path string, body any, want int) error {
	return c.call(ctx, method, path, body, want, nil)
}

// call sends body (if not nil) as JSON, fails unless the status is want,
// and decodes the answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	res, err := c.request(ctx, method, path, rd)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == want && out == nil {
		// Read to its end, as a client would, but not kept: holding every
		// page of 50 users in memory made the garbage collector a large
		// share of this program's CPU, which the server beside it lacked.
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
		}
		return nil
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// getIfChanged GETs path with If-None-Match: etag (none if empty) and
// returns the answer's ETag; it fails unless the answer is 200, or 304 to
// an etag.
func (c *Client) getIfChanged(ctx context.Context, path, etag string) (string, error) {
	req, err := c.newRequest(ctx, "GET", path, nil)
	if err != nil {
		return "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("GET %s: reading the answer: %w", path, err)
	}
	if res.StatusCode != http.StatusOK && (res.StatusCode != http.StatusNotModified || etag == "") {
		return "", fmt.Errorf("GET %s (If-None-Match: %s): %d %s", path, etag, res.StatusCode, bytes.TrimSpace(b))
	}
	return res.Header.Get("ETag"), nil
}

// request sends a request with the token, and body as JSON if not nil.
func (c *Client) request(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := c.newRequest(ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	return c.HTTP.Do(req)
}

// newRequest is a request to the next server with the token, and body as
// JSON if not nil.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.server()+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// roundTrips reads muster_store_round_trips_total from the servers'
// /metrics and adds them up; 0 for a server that has none.
func (c *Client) roundTrips() float64 {
	var sum float64
	for _, server := range c.servers() {
		res, err := c.HTTP.Get(server + "/metrics")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "muster_store_round_trips_total "); ok {
				n, _ := strconv.ParseFloat(v, 64)
				sum += n
			}
		}
		res.Body.Close()
	}
	return sum
}

// Phase runs op(0..n-1) on clients goroutines, timing each, while sampling
// the server process.
func Phase(ctx context.Context, name string, clients, n, pid int, op func(i int) error) Result {
	return phase(ctx, name, clients, n, pid, nil, op)
}

// phase is Phase, which also reads the server's round trips to the
// database before and after, if roundTrips is not nil.
func phase(ctx context.Context, name string, clients, n, pid int, roundTrips func() float64, op func(i int) error) Result {
	var trips float64
	if roundTrips != nil {
		trips = -roundTrips()
	}
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var firstErr atomic.Value
	sampler := startSampler(pid)
	start := time.Now()
	parallel(ctx, clients, n, func(i int) error {
		t := time.Now()
		if err := op(i); err != nil {
			errs.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		lat[i] = time.Since(t)
		return nil
	})
	elapsed := time.Since(start)
	use := sampler.stop()
	if roundTrips != nil {
		trips += roundTrips()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if n == 0 {
			return 0
		}
		return float64(lat[min(n-1, int(float64(n)*p))]) / 1e6
	}
	r := Result{Phase: name, Ops: n, Errors: int(errs.Load()), Seconds: elapsed.Seconds(),
		OpsPerSec: float64(n) / elapsed.Seconds(), P50ms: pct(0.50), P95ms: pct(0.95), P99ms: pct(0.99),
		Maxms: pct(1), PeakRSSMiB: use.peakRSS, CPUSeconds: use.cpu, DBCPUSeconds: use.backendsCPU, LoadCPUSeconds: use.selfCPU,
		RoundTrips: trips}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstError = e
	}
	return r
}

// DefaultPhases are the phases Run runs when Config.Phases is empty.
var DefaultPhases = []string{"invite", "read", "deactivate"}

// PhaseNames are the phases Config.Phases may name.
var PhaseNames = []string{"invite", "invite-orgs", "read", "deep-read", "deactivate", "page", "cursor", "poll", "search",
	"get", "scim-create", "scim-filter", "scim-groups"}

// Run runs cfg.Phases (or DefaultPhases) against the server.
func Run(ctx context.Context, cfg Config, seed *Seed) []Result {
	c := &Client{URL: strings.ReplaceAll(strings.TrimRight(cfg.URL, "/"), "/,", ","), Token: seed.Token,
		HTTP: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients * 2}, Timeout: 30 * time.Second}}
	// The read phase's three kinds of request, each a third of it.
	page := func(int) error { return c.Do(ctx, "GET", "/api/v1/users?limit=50", nil, http.StatusOK) }
	search := func(i int) error {
		name := firstNames[i%len(firstNames)]
		return c.Do(ctx, "GET", "/api/v1/users?limit=50&q="+strings.ToLower(name[:min(3, len(name))]), nil, http.StatusOK)
	}
	get := func(i int) error {
		return c.Do(ctx, "GET", fmt.Sprintf("/api/v1/users/%d", seed.Users[i%len(seed.Users)]), nil, http.StatusOK)
	}
	// A page at a random depth of the list, by its cursor.
	depthPage := func() string {
		if len(seed.Cursors) == 0 {
			return "/api/v1/users?limit=50"
		}
		return "/api/v1/users?limit=50&cursor=" + url.QueryEscape(seed.Cursors[rand.IntN(len(seed.Cursors))])
	}
	cursor := func(int) error { return c.Do(ctx, "GET", depthPage(), nil, http.StatusOK) }
	// The same, asked for with the ETag the page had when last read (an
	// identity provider's or a dashboard's polling): 304 while the org's
	// users stay as they are.
	var etags sync.Map // path → ETag
	poll := func(int) error {
		path := depthPage()
		known, _ := etags.Load(path)
		etag, _ := known.(string)
		etag, err := c.getIfChanged(ctx, path, etag)
		etags.Store(path, etag)
		return err
	}
	orgs := make([]*Client, len(seed.Orgs))
	for i, o := range seed.Orgs {
		orgs[i] = &Client{URL: c.URL, Token: o.Token, HTTP: c.HTTP}
	}
	inviteInto := func(c *Client, teams []int64, i int) error {
		in := seed.invite(i, "invite")
		return c.Do(ctx, "POST", "/api/v1/users", map[string]any{"first_name": in.FirstName, "last_name": in.LastName,
			"email": in.Email, "role": "basic", "primary_team_id": teams[i%len(teams)],
			"secondary_team_ids": []int64{teams[(i+7)%len(teams)]}}, http.StatusCreated)
	}
	// An identity provider's client: Okta and Entra ID look a user up by
	// userName before they create or change them.
	sc := &Client{URL: c.URL, Token: seed.SCIMToken, HTTP: c.HTTP}
	scimCreate := func(i int) error {
		in := seed.invite(i, "scim")
		return sc.Do(ctx, "POST", "/scim/v2/Users", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": in.Email,
			"externalId": fmt.Sprintf("load-%d", i), "active": true,
			"name":   map[string]any{"givenName": in.FirstName, "familyName": in.LastName},
			"emails": []any{map[string]any{"value": in.Email, "type": "work", "primary": true}},
		}, http.StatusCreated)
	}
	// wantTotal checks that a SCIM list finds want resources.
	wantTotal := func(path string, want int) error {
		var list struct {
			TotalResults int `json:"totalResults"`
		}
		if err := sc.call(ctx, "GET", path, nil, http.StatusOK, &list); err != nil {
			return err
		}
		if list.TotalResults != want {
			return fmt.Errorf("GET %s: %d resources; want %d", path, list.TotalResults, want)
		}
		return nil
	}
	scimFilter := func(i int) error {
		email := strings.ToUpper(seed.Emails[i%len(seed.Emails)])
		return wantTotal("/scim/v2/Users?filter="+url.QueryEscape(`userName eq "`+email+`"`), 1)
	}
	// A group pushed as Okta's Push Groups pushes it: looked up by name
	// (none yet), then created with a member. Each push's lookup finds the
	// groups pushed before it among the org's teams.
	scimGroup := func(i int) error {
		name := fmt.Sprintf("Load group %06d", i)
		err := wantTotal("/scim/v2/Groups?excludedAttributes=members&filter="+
			url.QueryEscape(`displayName eq "`+name+`"`), 0)
		if err != nil {
			return err
		}
		return sc.Do(ctx, "POST", "/scim/v2/Groups", map[string]any{
			"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": name,
			"externalId": fmt.Sprintf("load-group-%d", i),
			"members":    []any{map[string]any{"value": strconv.FormatInt(seed.Members[i%len(seed.Members)], 10)}},
		}, http.StatusCreated)
	}
	phases := map[string]struct {
		n  int
		op func(i int) error
	}{
		"invite": {cfg.Invites, func(i int) error { return inviteInto(c, seed.Teams, i) }},
		"invite-orgs": {cfg.Invites, func(i int) error {
			o := i % len(orgs)
			return inviteInto(orgs[o], seed.Orgs[o].Teams, i/len(orgs))
		}},
		"read":      {cfg.Reads, func(i int) error { return []func(int) error{page, search, get}[i%3](i) }},
		"deep-read": {cfg.Reads, func(i int) error { return []func(int) error{cursor, search, get}[i%3](i) }},
		"cursor":    {cfg.Reads, cursor},
		"poll":      {cfg.Reads, poll},
		"deactivate": {len(seed.Active), func(i int) error {
			return c.Do(ctx, "POST", fmt.Sprintf("/api/v1/users/%d/deactivate", seed.Active[i]), nil, http.StatusOK)
		}},
		"page":        {cfg.Reads, page},
		"search":      {cfg.Reads, search},
		"get":         {cfg.Reads, get},
		"scim-create": {cfg.SCIMCreates, scimCreate},
		"scim-filter": {cfg.Reads, scimFilter},
		"scim-groups": {cfg.SCIMGroups, scimGroup},
	}
	names := cfg.Phases
	if len(names) == 0 {
		names = DefaultPhases
	}
	var results []Result
	for _, name := range names {
		if p, ok := phases[name]; ok {
			results = append(results, phase(ctx, name, cfg.Clients, p.n, cfg.ServerPID, c.roundTrips, p.op))
		}
	}
	return results
}

// WriteTable writes results as a table a person reads.
func WriteTable(w io.Writer, results []Result) {
	fmt.Fprintf(w, "%-11s %8s %7s %9s %8s %8s %8s %8s %9s %8s %8s %8s %9s\n", "phase", "ops", "errors", "ops/s", "p50 ms",
		"p95 ms", "p99 ms", "max ms", "peak RSS", "CPU s", "DB CPU s", "load s", "trips/op")
	for _, r := range results {
		fmt.Fprintf(w, "%-11s %8d %7d %9.0f %8.2f %8.2f %8.2f %8.2f %7.1fMi %8.2f %8.2f %8.2f %9.2f\n", r.Phase, r.Ops, r.Errors,
			r.OpsPerSec, r.P50ms, r.P95ms, r.P99ms, r.Maxms, r.PeakRSSMiB, r.CPUSeconds, r.DBCPUSeconds, r.LoadCPUSeconds,
			r.RoundTrips/float64(max(r.Ops, 1)))
		if r.FirstError != "" {
			fmt.Fprintf(w, "  first error: %s\n", r.FirstError)
		}
	}
}
