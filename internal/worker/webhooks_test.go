package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestWebhooksVerifiedByStandardLibrary: a receiver subscribed to every
// type gets the lifecycle events of a day in an org's life, each verified
// by the Standard Webhooks library (an implementation independent of
// Muster's signing), in the order the changes were made, each under 20 kB
// and with the API's field names (EVT-1).
func TestWebhooksVerifiedByStandardLibrary(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, nil)
		all, allSecret := h.endpoint(rc.URL())
		rcUsers := newReceiver(t, nil)
		_, usersSecret := h.endpoint(rcUsers.URL(), muster.EventUserInvited, muster.EventUserDeactivated)
		ctx := h.ownerCtx()

		inv := h.invite("Ann", muster.RoleManager)
		ann := h.accept(inv.Link)
		admin := h.accept(h.invite("Ada", muster.RoleAdmin).Link)
		role := muster.RoleBasic
		first := "Anne"
		if _, err := h.svc.UpdateUser(ctx, ann.ID, service.UserUpdate{Role: &role, FirstName: &first}); err != nil {
			t.Fatal(err)
		}
		team, err := h.svc.CreateTeam(ctx, "Sales")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.UpdateUser(ctx, ann.ID, service.UserUpdate{SecondaryTeamIDs: &[]int64{team.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.RenameTeam(ctx, team.ID, "Sales EMEA", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.SetEmailAtScale(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.CreateSendAs(ctx, service.SendAsInput{FromName: "Sales", FromEmail: "sales@example.com",
			UserIDs: []int64{ann.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Deactivate(ctx, ann.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.InviteAgain(ctx, ann.ID, service.UserUpdate{}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Withdraw(ctx, ann.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.RemoveTeam(ctx, team.ID, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.SetLicenseTotal(ctx, 2, 0); err != nil { // the Owner and Ada: none left
			t.Fatal(err)
		}
		if _, err := h.svc.TransferOwnership(muster.NewContext(context.Background(),
			muster.Principal{OrgID: h.owner.OrgID, Origin: "test"}), admin.ID, ""); err != nil {
			t.Fatal(err)
		}
		h.deliver()

		got := rc.requests()
		for _, r := range got {
			if err := verify(allSecret, r, false); err != nil {
				t.Errorf("%s %s: the Standard Webhooks library refuses it: %v", r.ID, r.Event.Type, err)
			}
			if len(r.Body) > service.MaxWebhookPayload {
				t.Errorf("%s is %d bytes", r.Event.Type, len(r.Body))
			}
			if ts, _ := strconv.ParseInt(r.Timestamp, 10, 64); ts != h.clock.Now().Unix() {
				t.Errorf("webhook-timestamp %s; want the attempt's time %d", r.Timestamp, h.clock.Now().Unix())
			}
			checkSchema(t, r)
		}
		var lifecycle []string
		for _, ty := range types(got) {
			if ty != muster.EventAuditEvent {
				lifecycle = append(lifecycle, ty)
			}
		}
		want := []string{
			"user.invited", "user.activated", "user.invited", "user.activated", // Ann, then Ada
			"user.updated",       // Ann: role and first name
			"team.created",       //
			"user.teams_changed", // Ann joins Sales
			"team.renamed",       //
			"send_as.granted",    // to Ann
			"send_as.revoked",    // her grant ends with her access
			"user.deactivated",   //
			"user.reinvited",     //
			"user.invitation_withdrawn",
			"team.removed",
			"license.total_changed", "license.exhausted",
			"ownership.transferred", "user.updated", "user.updated",
		}
		// Events of one subject arrive in order; across subjects the
		// sender may interleave them, so compare each subject's sequence.
		if !sameMultiset(lifecycle, want) {
			t.Errorf("lifecycle events:\n%v\nwant (in some order):\n%v", lifecycle, want)
		}
		annEvents := eventsAbout(got, "user", ann.ID)
		wantAnn := []string{"user.invited", "user.activated", "user.updated", "user.teams_changed", "send_as.revoked",
			"user.deactivated", "user.reinvited", "user.invitation_withdrawn"}
		if !slices.Equal(annEvents, wantAnn) {
			t.Errorf("Ann's events in order:\n%v\nwant\n%v", annEvents, wantAnn)
		}
		audits := 0
		for _, ty := range types(got) {
			if ty == muster.EventAuditEvent {
				audits++
			}
		}
		page, err := h.svc.FindAuditEvents(h.ownerCtx(), service.AuditQuery{Limit: service.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		// Every audit event since the endpoint was created, which is the
		// third (after the org and its Owner's invitation and activation).
		if wantAudits := len(page.Events) - 3; audits != wantAudits {
			t.Errorf("%d audit.event deliveries; want every audit event since the endpoint: %d", audits, wantAudits)
		}
		for _, d := range h.log(all.ID) {
			if d.State != muster.DeliverySucceeded || d.Attempts != 1 {
				t.Errorf("delivery %d (%s) is %s after %d attempts; want succeeded at once", d.ID, d.EventType, d.State, d.Attempts)
			}
		}

		// The second endpoint gets only what it asked for.
		users := rcUsers.requests()
		if ty := types(users); !slices.Equal(ty, []string{"user.invited", "user.invited", "user.deactivated"}) {
			t.Errorf("the endpoint for user.invited and user.deactivated got %v", ty)
		}
		for _, r := range users {
			if err := verify(usersSecret, r, false); err != nil {
				t.Errorf("%s: %v", r.Event.Type, err)
			}
			if err := verify(allSecret, r, true); err == nil {
				t.Errorf("%s verifies with another endpoint's secret", r.Event.Type)
			}
		}
	})
}

// sameMultiset reports whether a and b hold the same strings as often.
func sameMultiset(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// eventsAbout lists, in order of arrival, the lifecycle events whose data
// is about the user with id.
func eventsAbout(rs []*request, _ string, id int64) []string {
	var out []string
	for _, r := range rs {
		var d struct {
			User    *struct{ ID int64 } `json:"user"`
			UserIDs []int64             `json:"user_ids"`
			Reason  string              `json:"reason"`
		}
		json.Unmarshal(r.Event.Data, &d)
		switch {
		case r.Event.Type == muster.EventAuditEvent:
		case d.User != nil && d.User.ID == id:
			out = append(out, r.Event.Type)
		case d.Reason == "deactivated" && slices.Contains(d.UserIDs, id):
			out = append(out, r.Event.Type)
		}
	}
	return out
}

// TestWebhookRetriesKeepTheirID: a receiver that fails twice and then
// recovers gets the event three times with the same webhook-id, each
// attempt signed with its own timestamp; the retries come at the
// schedule's times and the log keeps each attempt.
func TestWebhookRetriesKeepTheirID(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, func(n int, r *request, w http.ResponseWriter) int {
			if n < 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		e, secret := h.endpoint(rc.URL(), muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)

		h.deliver() // the first attempt, at once
		h.clock.Advance(4 * time.Second)
		h.deliver() // too early for the retry
		if n := len(rc.requests()); n != 1 {
			t.Fatalf("%d requests 4 s after the first failure; want the retry to wait about 5 s", n)
		}
		h.clock.Advance(2 * time.Second)
		h.deliver()
		h.clock.Advance(4 * time.Minute)
		h.deliver()
		if n := len(rc.requests()); n != 2 {
			t.Fatalf("%d requests 4 min after the second failure; want the retry to wait about 5 min", n)
		}
		h.clock.Advance(2 * time.Minute)
		h.deliver()

		got := rc.requests()
		if len(got) != 3 {
			t.Fatalf("%d requests; want 3", len(got))
		}
		for i, r := range got {
			if r.ID != got[0].ID {
				t.Errorf("attempt %d has webhook-id %s; want %s, the first's", i+1, r.ID, got[0].ID)
			}
			if err := verify(secret, r, true); err != nil {
				t.Errorf("attempt %d: %v", i+1, err)
			}
			if string(r.Body) != string(got[0].Body) {
				t.Errorf("attempt %d has another body", i+1)
			}
		}
		if got[0].Timestamp == got[2].Timestamp {
			t.Error("the retry carries the first attempt's timestamp; want its own")
		}
		log := h.log(e.ID)
		if len(log) != 1 || log[0].State != muster.DeliverySucceeded || log[0].Attempts != 3 || log[0].MsgID != got[0].ID {
			t.Fatalf("delivery log %+v; want one delivery, succeeded on the third attempt", log[0])
		}
		detail, err := h.svc.FindWebhookDelivery(h.ownerCtx(), e.ID, log[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var statuses []int
		for _, a := range detail.Attempts {
			statuses = append(statuses, a.StatusCode)
			if a.Response == "" || a.Latency <= 0 {
				t.Errorf("attempt %+v: want the response's first bytes and the latency", a)
			}
		}
		if !slices.Equal(statuses, []int{500, 500, 200}) {
			t.Errorf("attempts %v; want 500, 500, 200", statuses)
		}
		if !h.endpointNow(e.ID).FailingSince.IsZero() {
			t.Error("the endpoint is still failing after a success")
		}
	})
}

// webhookEmailsTo lists the org's queued emails to addr about webhooks.
func (h *hookEnv) webhookEmailsTo(addr string) []*muster.OutboxMessage {
	h.t.Helper()
	var out []*muster.OutboxMessage
	err := h.db.View(context.Background(), func(tx muster.Tx) error {
		msgs, err := tx.FindOutboxMessages(context.Background(), muster.OutboxFilter{OrgID: h.owner.OrgID, Limit: 1000})
		for _, m := range msgs {
			if m.To == addr && strings.Contains(m.Subject, "webhook") {
				out = append(out, m)
			}
		}
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// TestWebhookGoneDisables: an endpoint that answers 410 Gone is disabled
// at once, without retries; the events that follow are not queued for it,
// and the Owner and Admins are told.
func TestWebhookGoneDisables(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		admin := h.accept(h.invite("Ada", muster.RoleAdmin).Link)
		rc := newReceiver(t, func(int, *request, http.ResponseWriter) int { return http.StatusGone })
		e, _ := h.endpoint(rc.URL(), muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)
		h.invite("Bob", muster.RoleBasic)
		h.deliver()
		h.clock.Advance(time.Hour)
		h.deliver()
		// The two invitations may be sent at once, before either answer
		// is in; neither is tried again.
		ids := map[string]int{}
		for _, r := range rc.requests() {
			ids[r.ID]++
		}
		for id, n := range ids {
			if n != 1 {
				t.Fatalf("%s was sent %d times; want once: 410 disables at once", id, n)
			}
		}
		got := h.endpointNow(e.ID)
		if got.Enabled || got.DisabledReason != muster.WebhookDisabledGone {
			t.Fatalf("endpoint enabled=%v reason=%q; want disabled as gone", got.Enabled, got.DisabledReason)
		}
		for _, d := range h.log(e.ID) {
			if d.State != muster.DeliveryFailed {
				t.Errorf("delivery %d (%s) is %s; want failed with its endpoint", d.ID, d.EventType, d.State)
			}
		}
		h.invite("Cid", muster.RoleBasic)
		if n := len(h.log(e.ID)); n != 2 {
			t.Errorf("%d deliveries after an invitation to the disabled endpoint; want none added to the 2", n)
		}
		for _, u := range []*muster.User{h.owner, admin} {
			if msgs := h.webhookEmailsTo(u.Email); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "410 Gone") {
				t.Errorf("%s got %d emails about it; want one saying 410 Gone", u.Email, len(msgs))
			}
		}
		page, err := h.svc.FindAuditEvents(h.ownerCtx(), service.AuditQuery{Action: muster.ActionWebhookDisabled})
		if err != nil || len(page.Events) != 1 || page.Events[0].ActorLabel != "Muster" {
			t.Fatalf("audit of the disabling: %v %+v", err, page.Events)
		}
	})
}

// TestWebhookFailingFiveDaysDisables: an endpoint that fails every attempt
// gets the whole schedule (ten attempts over about three days) for an
// event, and is disabled, with its Owner and Admins emailed, at the first
// failure five days after its failures began.
func TestWebhookFailingFiveDaysDisables(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, func(int, *request, http.ResponseWriter) int { return http.StatusInternalServerError })
		e, _ := h.endpoint(rc.URL(), muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)
		start := h.clock.Now()
		for range 200 {
			h.deliver()
			h.clock.Advance(30 * time.Minute)
		}
		if n := len(rc.requests()); n != service.WebhookAttempts {
			t.Fatalf("%d attempts; want %d", n, service.WebhookAttempts)
		}
		log := h.log(e.ID)
		if len(log) != 1 || log[0].State != muster.DeliveryFailed {
			t.Fatalf("after every attempt the delivery is %s; want failed", log[0].State)
		}
		if span := log[0].LastAttemptAt.Sub(start); span < 60*time.Hour || span > 90*time.Hour {
			t.Errorf("the attempts spread over %v; want about 3 days", span)
		}
		if got := h.endpointNow(e.ID); !got.Enabled || !got.FailingSince.Equal(start) {
			t.Fatalf("after 4 days: enabled=%v failing since %v; want still enabled, failing since %v", got.Enabled, got.FailingSince, start)
		}
		h.clock.Advance(24 * time.Hour) // day 5
		h.invite("Bob", muster.RoleBasic)
		h.deliver()
		got := h.endpointNow(e.ID)
		if got.Enabled || got.DisabledReason != muster.WebhookDisabledFailing {
			t.Fatalf("after 5 days of failures: enabled=%v reason=%q; want disabled as failing", got.Enabled, got.DisabledReason)
		}
		if msgs := h.webhookEmailsTo(h.owner.Email); len(msgs) != 1 || !strings.Contains(msgs[0].Text, "failed for 5 days") {
			t.Fatalf("the Owner got %d emails; want one saying it failed for 5 days", len(msgs))
		}

		// Enabled again, it starts afresh, and the failed events can be
		// sent again.
		enabled := true
		if _, err := h.svc.UpdateWebhook(h.ownerCtx(), e.ID, service.WebhookUpdate{Enabled: &enabled}); err != nil {
			t.Fatal(err)
		}
		rc.answer = nil
		n, err := h.svc.RedeliverFailedWebhooks(h.ownerCtx(), e.ID, start)
		if err != nil || n != 2 {
			t.Fatalf("RedeliverFailedWebhooks: %d, %v; want both events", n, err)
		}
		before := len(rc.requests())
		h.deliver()
		if got := len(rc.requests()) - before; got != 2 {
			t.Fatalf("%d requests after the redelivery; want 2", got)
		}
		for _, d := range h.log(e.ID) {
			if d.State != muster.DeliverySucceeded {
				t.Errorf("delivery %d is %s; want succeeded", d.ID, d.State)
			}
		}
	})
}

// TestWebhookRetryAfter: a 429 or 503 with Retry-After is tried again
// when it says, not at the schedule's time.
func TestWebhookRetryAfter(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, func(n int, _ *request, w http.ResponseWriter) int {
			if n == 0 {
				w.Header().Set("Retry-After", "120")
				return http.StatusTooManyRequests
			}
			return http.StatusOK
		})
		e, _ := h.endpoint(rc.URL(), muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)
		h.deliver()
		h.clock.Advance(time.Minute) // past the schedule's 5 s
		h.deliver()
		if n := len(rc.requests()); n != 1 {
			t.Fatalf("%d requests a minute after a 429 asking for 2 minutes; want 1", n)
		}
		h.clock.Advance(61 * time.Second)
		h.deliver()
		if n := len(rc.requests()); n != 2 || h.log(e.ID)[0].State != muster.DeliverySucceeded {
			t.Fatalf("%d requests after 2 minutes; want the retry, delivered", n)
		}
	})
}

// TestWebhookSecretRotation: after a rotation with an overlap, each
// delivery verifies with the old secret and with the new one (the
// signature header carries both); after the overlap, with the new alone.
func TestWebhookSecretRotation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, nil)
		e, oldSecret := h.endpoint(rc.URL(), muster.EventUserInvited)
		rotated, err := h.svc.RotateWebhookSecret(h.ownerCtx(), e.ID, 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		newSecret := rotated.Secret
		if newSecret == oldSecret || !strings.HasPrefix(newSecret, "whsec_") {
			t.Fatalf("rotated secret %q", newSecret)
		}
		h.invite("Ann", muster.RoleBasic)
		h.deliver()
		during := rc.requests()[0]
		for name, s := range map[string]string{"old": oldSecret, "new": newSecret} {
			if err := verify(s, during, false); err != nil {
				t.Errorf("during the overlap, the %s secret: %v", name, err)
			}
		}
		h.clock.Advance(24*time.Hour + time.Second)
		h.invite("Bob", muster.RoleBasic)
		h.deliver()
		after := rc.requests()[1]
		if err := verify(newSecret, after, true); err != nil {
			t.Errorf("after the overlap, the new secret: %v", err)
		}
		if err := verify(oldSecret, after, true); err == nil {
			t.Error("after the overlap, the old secret still verifies")
		}
		if n := strings.Count(after.Signature, "v1,"); n != 1 {
			t.Errorf("after the overlap the header has %d signatures; want 1", n)
		}

		// Rotating without an overlap ends the old secret at once.
		again, err := h.svc.RotateWebhookSecret(h.ownerCtx(), e.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		h.invite("Cid", muster.RoleBasic)
		h.deliver()
		last := rc.requests()[2]
		if verify(again.Secret, last, true) != nil || verify(newSecret, last, true) == nil {
			t.Error("after a rotation without overlap, want the newest secret alone to verify")
		}
	})
}

// TestWebhookOrderPerUser: a user's events reach an endpoint in the order
// they were made, even when the first needs a retry: the second waits.
func TestWebhookOrderPerUser(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, func(n int, _ *request, _ http.ResponseWriter) int {
			if n == 0 {
				return http.StatusServiceUnavailable
			}
			return http.StatusOK
		})
		h.endpoint(rc.URL(), muster.EventUserInvited, muster.EventUserActivated, muster.EventUserDeactivated)
		inv := h.invite("Ann", muster.RoleBasic)
		ann := h.accept(inv.Link)
		if _, err := h.svc.Deactivate(h.ownerCtx(), ann.ID); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		if ty := types(rc.requests()); !slices.Equal(ty, []string{"user.invited"}) {
			t.Fatalf("while the invitation waits for its retry, the endpoint got %v; want only that attempt", ty)
		}
		h.clock.Advance(10 * time.Second)
		h.deliver()
		want := []string{"user.invited", "user.invited", "user.activated", "user.deactivated"}
		if ty := types(rc.requests()); !slices.Equal(ty, want) {
			t.Fatalf("the endpoint got %v; want %v", ty, want)
		}
	})
}

// TestWebhookTestEvent: "Send test event" answers with the receiver's
// status and the time it took, keeps the attempt in the log, and is not
// retried when it fails.
func TestWebhookTestEvent(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		fail := false
		rc := newReceiver(t, func(int, *request, http.ResponseWriter) int {
			if fail {
				return http.StatusBadGateway
			}
			return http.StatusNoContent
		})
		e, secret := h.endpoint(rc.URL(), muster.EventUserInvited)
		a, err := h.svc.SendTestWebhook(h.ownerCtx(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.StatusCode != http.StatusNoContent || a.Latency <= 0 || !a.Succeeded() {
			t.Fatalf("test attempt %+v; want 204 with its latency", a)
		}
		got := rc.requests()
		if len(got) != 1 || got[0].Event.Type != muster.EventTest || verify(secret, got[0], false) != nil {
			t.Fatalf("the receiver got %v; want one signed webhook.test", types(got))
		}
		fail = true
		if a, err = h.svc.SendTestWebhook(h.ownerCtx(), e.ID); err != nil || a.StatusCode != http.StatusBadGateway {
			t.Fatalf("failing test: %+v, %v", a, err)
		}
		h.clock.Advance(time.Hour)
		h.deliver()
		if n := len(rc.requests()); n != 2 {
			t.Fatalf("%d requests; want the failed test event not retried", n)
		}
		log := h.log(e.ID)
		if len(log) != 2 || log[0].State != muster.DeliveryFailed || log[1].State != muster.DeliverySucceeded {
			t.Fatalf("log %+v; want both tests, the newest failed", log)
		}
		if !h.endpointNow(e.ID).FailingSince.IsZero() {
			t.Error("a failed test event counts as the endpoint failing")
		}
		// Redeliver one event: the same webhook-id again.
		fail = false
		if _, err := h.svc.RedeliverWebhook(h.ownerCtx(), e.ID, log[0].ID); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		got = rc.requests()
		if len(got) != 3 || got[2].ID != got[1].ID {
			t.Fatalf("redelivery: %d requests, ids %s / %s; want the second event again", len(got), got[1].ID, got[2].ID)
		}
	})
}

// TestWebhooksForSCIMChanges: an identity provider's changes through SCIM
// send the same events as the console's: a user provisioned is invited,
// renamed, and, still Pending, their invitation withdrawn when the provider
// sets active to false.
func TestWebhooksForSCIMChanges(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		rc := newReceiver(t, nil)
		_, secret := h.endpoint(rc.URL(), muster.EventUserInvited, muster.EventInvitationWithdrawn, muster.EventUserUpdated)
		tok, err := h.svc.CreateSCIMToken(h.ownerCtx(), "Okta")
		if err != nil {
			t.Fatal(err)
		}
		idp := muster.NewContext(context.Background(), muster.Principal{OrgID: h.owner.OrgID, SCIMTokenID: tok.Token.ID, Origin: "scim"})
		u, err := h.svc.ProvisionUser(idp, service.UserDraft{Email: "sam@example.com", FirstName: "Sam", LastName: "Scim", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.ChangeProvisionedUser(idp, u.User.ID, 0, func(d *service.UserDraft) error {
			d.FirstName, d.Active = "Samuel", false
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		h.deliver()
		got := rc.requests()
		if ty := types(got); !slices.Equal(ty, []string{"user.invited", "user.updated", "user.invitation_withdrawn"}) {
			t.Fatalf("the endpoint got %v; want the invitation, the new name and the withdrawal", ty)
		}
		for _, r := range got {
			if err := verify(secret, r, false); err != nil {
				t.Errorf("%s: %v", r.Event.Type, err)
			}
			checkSchema(t, r)
		}
	})
}
