package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
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
		if _, err := h.svc.RemoveTeam(ctx, team.ID); err != nil {
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
