package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/resource"
	"github.com/muster-app/muster/internal/service"
)

// webhookRoutes registers the webhook endpoints' routes (EVT-1).
func (s *Server) webhookRoutes() {
	s.handle("GET /api/v1/webhooks", s.handleWebhookList)
	s.handle("POST /api/v1/webhooks", s.handleWebhookCreate)
	s.handle("GET /api/v1/webhooks/{id}", s.handleWebhookGet)
	s.handle("PATCH /api/v1/webhooks/{id}", s.handleWebhookUpdate)
	s.handle("DELETE /api/v1/webhooks/{id}", s.handleWebhookDelete)
	s.handle("POST /api/v1/webhooks/{id}/rotate-secret", s.handleWebhookRotate)
	s.handle("POST /api/v1/webhooks/{id}/test", s.handleWebhookTest)
	s.handle("GET /api/v1/webhooks/{id}/deliveries", s.handleWebhookDeliveries)
	s.handle("GET /api/v1/webhooks/{id}/deliveries/{delivery_id}", s.handleWebhookDelivery)
	s.handle("POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver", s.handleWebhookRedeliver)
	s.handle("POST /api/v1/webhooks/{id}/redeliver-failed", s.handleWebhookRedeliverFailed)
}

// webhookJSON is a webhook endpoint; its secret is shown only when it is
// made (webhookSecretJSON).
type webhookJSON struct {
	ID          int64  `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// EventTypes is empty when the endpoint receives every type.
	EventTypes     []string            `json:"event_types"`
	Enabled        bool                `json:"enabled"`
	DisabledReason *string             `json:"disabled_reason"`
	DisabledAt     *resource.Timestamp `json:"disabled_at"`
	FailingSince   *resource.Timestamp `json:"failing_since"`
	// PreviousSecretUntil is when the secret before the last rotation
	// stops signing; null when it has.
	PreviousSecretUntil *resource.Timestamp `json:"previous_secret_until"`
	CreatedAt           time.Time           `json:"created_at"`
	Version             int64               `json:"version"`
}

func toWebhookJSON(e *muster.WebhookEndpoint, now time.Time) webhookJSON {
	j := webhookJSON{ID: e.ID, URL: e.URL, Description: e.Description, EventTypes: e.EventTypes, Enabled: e.Enabled,
		DisabledAt: resource.Time(e.DisabledAt), FailingSince: resource.Time(e.FailingSince),
		CreatedAt: e.CreatedAt.UTC(), Version: e.Version}
	if j.EventTypes == nil {
		j.EventTypes = []string{}
	}
	if e.DisabledReason != "" {
		j.DisabledReason = &e.DisabledReason
	}
	if len(e.PreviousSecret) > 0 && now.Before(e.PreviousSecretUntil) {
		j.PreviousSecretUntil = resource.Time(e.PreviousSecretUntil)
	}
	return j
}

// webhookSecretJSON is an endpoint with its signing secret, shown once;
// null in a replay of the request (Idempotency-Key), which never stores it.
type webhookSecretJSON struct {
	webhookJSON
	Secret *string `json:"secret"`
}

func writeWebhookSecret(w http.ResponseWriter, status int, out *service.WebhookSecret) error {
	j := webhookSecretJSON{webhookJSON: toWebhookJSON(out.Endpoint, time.Now())}
	if out.Secret != "" {
		j.Secret = &out.Secret
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, status, j, versionETag(out.Endpoint.Version))
}

type webhookBody struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	EventTypes  *[]string `json:"event_types"`
	Enabled     *bool     `json:"enabled"`
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) error {
	es, err := s.svc.Webhooks(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Data []webhookJSON `json:"data"`
	}{Data: make([]webhookJSON, len(es))}
	for i, e := range es {
		out.Data[i] = toWebhookJSON(e, time.Now())
	}
	return writeJSON(w, http.StatusOK, out, "")
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	var body webhookBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	in := service.WebhookInput{}
	if body.URL != nil {
		in.URL = *body.URL
	}
	if body.Description != nil {
		in.Description = *body.Description
	}
	if body.EventTypes != nil {
		in.EventTypes = *body.EventTypes
	}
	if body.Enabled != nil && !*body.Enabled {
		return badRequest("A new endpoint is enabled; disable it with PATCH once it exists.")
	}
	out, err := s.svc.CreateWebhook(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/webhooks/%d", out.Endpoint.ID))
	return writeWebhookSecret(w, http.StatusCreated, out)
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := s.svc.Webhook(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toWebhookJSON(e, time.Now()), versionETag(e.Version))
}

func (s *Server) handleWebhookUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body webhookBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	e, err := s.svc.UpdateWebhook(r.Context(), id, service.WebhookUpdate{IfVersion: ifMatchVersion(r), URL: body.URL,
		Description: body.Description, EventTypes: body.EventTypes, Enabled: body.Enabled})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toWebhookJSON(e, time.Now()), versionETag(e.Version))
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.DeleteWebhook(r.Context(), id, ifMatchVersion(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleWebhookRotate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	body := struct {
		OverlapHours *int `json:"overlap_hours"`
	}{}
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			return err
		}
	}
	overlap := service.DefaultSecretOverlap
	if body.OverlapHours != nil {
		overlap = service.SecretOverlapHours(*body.OverlapHours)
	}
	out, err := s.svc.RotateWebhookSecret(r.Context(), id, overlap)
	if err != nil {
		return err
	}
	return writeWebhookSecret(w, http.StatusOK, out)
}

// attemptJSON is one attempt of a delivery.
type attemptJSON struct {
	AttemptedAt time.Time `json:"attempted_at"`
	// Status is null when no response came.
	Status    *int    `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Response  string  `json:"response"`
	Error     string  `json:"error"`
}

func toAttemptJSON(a *muster.WebhookAttempt) attemptJSON {
	j := attemptJSON{AttemptedAt: a.AttemptedAt.UTC(), LatencyMS: float64(a.Latency.Microseconds()) / 1000,
		Response: a.Response, Error: a.Error}
	if a.StatusCode != 0 {
		j.Status = &a.StatusCode
	}
	return j
}

func (s *Server) handleWebhookTest(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.svc.SendTestWebhook(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toAttemptJSON(a), "")
}

// deliveryJSON is one event on its way to an endpoint.
type deliveryJSON struct {
	ID int64 `json:"id"`
	// WebhookID is the event's webhook-id header, the same on every
	// attempt.
	WebhookID     string              `json:"webhook_id"`
	EventType     string              `json:"event_type"`
	State         string              `json:"state"`
	Attempts      int                 `json:"attempts"`
	CreatedAt     time.Time           `json:"created_at"`
	LastAttemptAt *resource.Timestamp `json:"last_attempt_at"`
	NextAttemptAt *resource.Timestamp `json:"next_attempt_at"`
	LastStatus    *int                `json:"last_status"`
	LastError     string              `json:"last_error"`
}

func toDeliveryJSON(d *muster.WebhookDelivery) deliveryJSON {
	j := deliveryJSON{ID: d.ID, WebhookID: d.MsgID, EventType: d.EventType, State: d.State, Attempts: d.Attempts,
		CreatedAt: d.CreatedAt.UTC(), LastAttemptAt: resource.Time(d.LastAttemptAt), LastError: d.LastError}
	if d.State == muster.DeliveryPending {
		j.NextAttemptAt = resource.Time(d.NextAttemptAt)
	}
	if d.LastStatus != 0 {
		j.LastStatus = &d.LastStatus
	}
	return j
}

// pathDelivery parses the {id} and {delivery_id} path values.
func pathDelivery(r *http.Request) (endpointID, deliveryID int64, err error) {
	if endpointID, err = pathID(r); err != nil {
		return 0, 0, err
	}
	deliveryID, err = strconv.ParseInt(r.PathValue("delivery_id"), 10, 64)
	if err != nil || deliveryID <= 0 {
		return 0, 0, muster.Errorf(muster.ENOTFOUND, "Not found.")
	}
	return endpointID, deliveryID, nil
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var q service.WebhookDeliveryQuery
	params := paramsOf(r)
	if q.State, err = params.text("state"); err != nil {
		return err
	}
	if q.BeforeID, err = params.int("cursor"); err != nil {
		return badRequest("The cursor is not valid. Start again from the first page.")
	}
	limit, err := params.int("limit")
	if err != nil {
		return err
	}
	q.Limit = int(limit)
	log, err := s.svc.FindWebhookLog(r.Context(), id, q)
	if err != nil {
		return err
	}
	out := struct {
		Data       []deliveryJSON `json:"data"`
		NextCursor *string        `json:"next_cursor"`
	}{Data: make([]deliveryJSON, len(log.Deliveries))}
	for i, d := range log.Deliveries {
		out.Data[i] = toDeliveryJSON(d)
	}
	if log.NextBeforeID != 0 {
		c := strconv.FormatInt(log.NextBeforeID, 10)
		out.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, out, "")
}

func (s *Server) handleWebhookDelivery(w http.ResponseWriter, r *http.Request) error {
	id, did, err := pathDelivery(r)
	if err != nil {
		return err
	}
	d, err := s.svc.FindWebhookDelivery(r.Context(), id, did)
	if err != nil {
		return err
	}
	out := struct {
		Delivery deliveryJSON    `json:"delivery"`
		Event    json.RawMessage `json:"event"`
		Attempts []attemptJSON   `json:"attempts"`
	}{Delivery: toDeliveryJSON(d.Delivery), Event: d.Event.Payload, Attempts: make([]attemptJSON, len(d.Attempts))}
	for i, a := range d.Attempts {
		out.Attempts[i] = toAttemptJSON(a)
	}
	return writeJSON(w, http.StatusOK, out, "")
}

func (s *Server) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request) error {
	id, did, err := pathDelivery(r)
	if err != nil {
		return err
	}
	d, err := s.svc.RedeliverWebhook(r.Context(), id, did)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, toDeliveryJSON(d), "")
}

func (s *Server) handleWebhookRedeliverFailed(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body struct {
		Since string `json:"since"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	var since time.Time
	if body.Since != "" {
		if since, err = time.Parse(time.RFC3339, body.Since); err != nil {
			return muster.FieldErrorf(muster.EINVALID, muster.FieldSince, "The time must look like 2026-01-31T09:00:00Z.")
		}
	}
	n, err := s.svc.RedeliverFailedWebhooks(r.Context(), id, since)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, struct {
		Deliveries int `json:"deliveries"`
	}{n}, "")
}
