package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/webhook"
	"github.com/muster-app/muster/internal/worker"
)

// hookEnv is an organization with webhooks: a service whose clock a test
// moves, a sender the test runs round by round, and the Owner.
type hookEnv struct {
	t      *testing.T
	db     *sqlstore.DB
	svc    *service.Service
	cfg    service.Config // svc's
	clock  *fakeClock
	sender *worker.WebhookSender
	owner  *muster.User
	team   *muster.Team
}

// hookConfig is the service configuration of webhook tests: endpoints on
// the loopback receivers tests start are allowed.
func hookConfig(c *fakeClock, box *secret.Box) service.Config {
	return service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"),
		Now: c.Now, PasswordParams: secret.TestParams, SecretBox: box, WebhooksAllowPrivate: true,
		Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: true})}
}

// newHookEnv sets an org up on db. The clock starts at the real time, so
// that the signatures' timestamps pass the Standard Webhooks library's
// five-minute tolerance until a test moves it on.
func newHookEnv(t *testing.T, db *sqlstore.DB, edit ...func(*service.Config)) *hookEnv {
	t.Helper()
	c := &fakeClock{}
	c.now.Store(time.Now().UTC().UnixMicro())
	cfg := hookConfig(c, testsupport.SecretBox(t))
	workers := &worker.Workers{}
	cfg.Waker = workers
	for _, f := range edit {
		f(&cfg)
	}
	h := &hookEnv{t: t, db: db, svc: service.New(db, cfg), cfg: cfg, clock: c}
	h.sender = &worker.WebhookSender{Service: h.svc, Log: slog.New(slog.DiscardHandler), PerEndpoint: 4}
	workers.Webhooks = h.sender
	setup, err := h.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: 50, OwnerEmail: fmt.Sprintf("owner%d@example.com", seq.Add(1)),
			OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	h.owner = h.accept(setup.SetupURL)
	listed, err := h.svc.Teams(h.as(h.owner), service.TeamListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	teams := listed.Teams
	h.team = teams[0]
	return h
}

func (h *hookEnv) as(u *muster.User) context.Context {
	return muster.NewContext(context.Background(), muster.Principal{UserID: u.ID, OrgID: u.OrgID, Origin: "test"})
}

func (h *hookEnv) ownerCtx() context.Context { return h.as(h.owner) }

func (h *hookEnv) accept(link string) *muster.User {
	h.t.Helper()
	in, err := h.svc.AcceptInvitation(context.Background(), link[strings.LastIndex(link, "/")+1:],
		"a long enough secret", service.Client{IP: "192.0.2.1", Origin: "test"})
	if err != nil {
		h.t.Fatal(err)
	}
	return in.User
}

// invite invites a user as the Owner.
func (h *hookEnv) invite(first string, role muster.Role) *service.Invited {
	h.t.Helper()
	res, err := h.svc.Invite(h.ownerCtx(), service.InviteInput{FirstName: first, LastName: "Tester",
		Email: fmt.Sprintf("%s%d@example.com", strings.ToLower(first), seq.Add(1)), Role: role, PrimaryTeamID: h.team.ID})
	if err != nil {
		h.t.Fatalf("Invite %s: %v", first, err)
	}
	return res
}

// endpoint creates an endpoint at url for the types (every type when
// none) and returns it with its secret.
func (h *hookEnv) endpoint(url string, types ...string) (*muster.WebhookEndpoint, string) {
	h.t.Helper()
	created, err := h.svc.CreateWebhook(h.ownerCtx(), service.WebhookInput{URL: url, EventTypes: types})
	if err != nil {
		h.t.Fatalf("CreateWebhook %s: %v", url, err)
	}
	return created.Endpoint, created.Secret
}

// deliver runs sender rounds until one claims nothing.
func (h *hookEnv) deliver() {
	h.t.Helper()
	for {
		n, err := h.sender.DeliverDue(context.Background())
		if err != nil {
			h.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// log returns an endpoint's deliveries, newest first.
func (h *hookEnv) log(endpointID int64) []*muster.WebhookDelivery {
	h.t.Helper()
	page, err := h.svc.FindWebhookLog(h.ownerCtx(), endpointID, service.WebhookDeliveryQuery{Limit: service.MaxPageSize})
	if err != nil {
		h.t.Fatal(err)
	}
	return page.Deliveries
}

// endpointNow reads an endpoint again.
func (h *hookEnv) endpointNow(id int64) *muster.WebhookEndpoint {
	h.t.Helper()
	e, err := h.svc.Webhook(h.ownerCtx(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

// request is one request a receiver got.
type request struct {
	ID, Timestamp, Signature string
	Header                   http.Header
	Body                     []byte
	Event                    struct {
		Type      string          `json:"type"`
		Timestamp time.Time       `json:"timestamp"`
		Data      json.RawMessage `json:"data"`
	}
	// Status is what the receiver answered.
	Status int
}

// receiver is an HTTP server standing in for the product that hosts
// Muster's users: it records every request and answers as answer says
// (200 when nil).
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*request
	// answer returns the status (and headers) for the n-th request (from
	// 0).
	answer func(n int, r *request, w http.ResponseWriter) int
	// arrived is signalled after each request.
	arrived chan struct{}
}

func newReceiver(t *testing.T, answer func(n int, r *request, w http.ResponseWriter) int) *receiver {
	rc := &receiver{answer: answer, arrived: make(chan struct{}, 1<<16)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := &request{ID: r.Header.Get("webhook-id"), Timestamp: r.Header.Get("webhook-timestamp"),
			Signature: r.Header.Get("webhook-signature"), Header: r.Header.Clone(), Body: body}
		if err := json.Unmarshal(body, &req.Event); err != nil {
			t.Errorf("the body is not an event: %v\n%s", err, body)
		}
		rc.mu.Lock()
		n := len(rc.got)
		rc.got = append(rc.got, req)
		rc.mu.Unlock()
		req.Status = http.StatusOK
		if rc.answer != nil {
			req.Status = rc.answer(n, req, w)
		}
		w.WriteHeader(req.Status)
		fmt.Fprintf(w, "answered %d", req.Status)
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) URL() string { return rc.srv.URL + "/hooks" }

// requests returns what arrived so far, in order.
func (rc *receiver) requests() []*request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*request(nil), rc.got...)
}

// verify checks a request's signature with the Standard Webhooks library,
// timestamp tolerance included unless lenient.
func verify(secret string, r *request, lenient bool) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return err
	}
	if lenient {
		return wh.VerifyIgnoringTimestamp(r.Body, r.Header)
	}
	return wh.Verify(r.Body, r.Header)
}

// types lists the event types of requests, in order.
func types(rs []*request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Event.Type
	}
	return out
}

// document is the API's OpenAPI document, whose webhooks section
// describes each event type's body.
var document = func() *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		panic(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		panic(err)
	}
	return doc
}()

// checkSchema checks a request's body against the webhook of its type in
// the API's OpenAPI document: the objects are the API's, field for field.
func checkSchema(t *testing.T, r *request) {
	t.Helper()
	item, ok := document.Webhooks[r.Event.Type]
	if !ok || item.Post == nil {
		t.Errorf("the OpenAPI document describes no webhook %q", r.Event.Type)
		return
	}
	schema := item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	var body any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatal(err)
	}
	if err := schema.VisitJSON(body); err != nil {
		t.Errorf("%s does not match the OpenAPI document: %v\n%s", r.Event.Type, err, r.Body)
	}
}
