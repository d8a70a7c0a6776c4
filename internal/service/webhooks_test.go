package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/web"
)

// hookService is a service on the fixture's store that can make webhook
// endpoints; allowPrivate is the server's development flag.
func (f *fixture) hookService(box *secret.Box, allowPrivate bool) *service.Service {
	return service.New(f.db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"),
		Now: f.clock.Now, PasswordParams: secret.TestParams, SecretBox: box, WebhooksAllowPrivate: allowPrivate})
}

// eventCount counts the webhook events stored so far, whatever their org.
func eventCount(t *testing.T, db *sqlstore.DB) int {
	t.Helper()
	ids := make([]int64, 2048)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	var n int
	err := db.View(context.Background(), func(tx muster.Tx) error {
		events, err := tx.FindWebhookEvents(context.Background(), ids)
		n = len(events)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhookEventsAreAnOutbox: events are written in the transaction of
// the change they report. An invitation refused for want of a seat, after
// its audit event and webhook events were written, rolls them back with it:
// no event, no delivery. An org without endpoints writes no events at all,
// and a disabled endpoint gets none.
func TestWebhookEventsAreAnOutbox(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 2)
		svc := f.hookService(testsupport.SecretBox(t), false)
		ctx := f.as(f.owner)
		f.invite("Ann", muster.RoleBasic) // the second seat: none left
		if n := eventCount(t, db); n != 0 {
			t.Fatalf("%d events in an org without endpoints; want none", n)
		}

		created, err := svc.CreateWebhook(ctx, service.WebhookInput{URL: "https://hooks.example.com/muster"})
		if err != nil {
			t.Fatal(err)
		}
		before := eventCount(t, db)
		_, err = svc.Invite(ctx, service.InviteInput{FirstName: "Bob", LastName: "Tester", Email: uniqueEmail("bob"),
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
		wantCode(t, err, muster.ESEATS)
		if n := eventCount(t, db); n != before {
			t.Fatalf("a refused invitation left %d events; want none", n-before)
		}
		log, err := svc.FindWebhookLog(ctx, created.Endpoint.ID, service.WebhookDeliveryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range log.Deliveries {
			if d.EventType != muster.EventAuditEvent {
				t.Errorf("delivery of %s after a refused invitation", d.EventType)
			}
		}

		// Committed, the same change writes its events.
		if _, err := svc.SetLicenseTotal(ctx, 3, 0); err != nil {
			t.Fatal(err)
		}
		inv, err := svc.Invite(ctx, service.InviteInput{FirstName: "Bob", LastName: "Tester", Email: uniqueEmail("bob"),
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
		if err != nil {
			t.Fatal(err)
		}
		log, err = svc.FindWebhookLog(ctx, created.Endpoint.ID, service.WebhookDeliveryQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, d := range log.Deliveries {
			types = append(types, d.EventType)
		}
		if got := strings.Join(types, " "); !strings.HasPrefix(got, "license.exhausted user.invited audit.event") {
			t.Fatalf("after the committed invitation, newest first: %s; want license.exhausted, user.invited and its audit event", got)
		}
		// Its audit event, as the endpoint is told of it, names its row in
		// the log.
		err = db.View(context.Background(), func(tx muster.Tx) error {
			told, err := tx.FindWebhookEvents(context.Background(), []int64{log.Deliveries[2].EventID})
			if err != nil || len(told) != 1 {
				return fmt.Errorf("the audit.event delivery's event: %d found, %w", len(told), err)
			}
			var payload struct {
				Data struct {
					ID     int64  `json:"id"`
					Action string `json:"action"`
				} `json:"data"`
			}
			if err := json.Unmarshal(told[0].Payload, &payload); err != nil {
				return err
			}
			logged, err := tx.FindAuditEvents(context.Background(), muster.AuditFilter{OrgID: inv.User.OrgID,
				TargetType: muster.TargetUser, TargetID: inv.User.ID, Limit: 1})
			if err != nil || len(logged) != 1 {
				return fmt.Errorf("the invitation's audit event: %d found, %w", len(logged), err)
			}
			if payload.Data.ID == 0 || payload.Data.ID != logged[0].ID || payload.Data.Action != muster.ActionUserInvited {
				return fmt.Errorf("the endpoint is told of audit event %d (%s); want %d, the invitation's", payload.Data.ID,
					payload.Data.Action, logged[0].ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		off := false
		if _, err := svc.UpdateWebhook(ctx, created.Endpoint.ID, service.WebhookUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		before = eventCount(t, db)
		if _, err := svc.Withdraw(ctx, inv.User.ID); err != nil {
			t.Fatal(err)
		}
		if n := eventCount(t, db); n != before {
			t.Fatalf("%d events for a disabled endpoint; want none", n-before)
		}
	})
}

// TestWebhookURLs: without the development flag an endpoint must be https
// on a public host; literal loopback, private, link-local and metadata
// addresses, localhost, credentials and fragments are refused, each with a
// message about the url field. With the flag, http and private hosts pass.
func TestWebhookURLs(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		strict, dev := f.hookService(testsupport.SecretBox(t), false), f.hookService(testsupport.SecretBox(t), true)
		ctx := f.as(f.owner)
		for _, url := range []string{"http://hooks.example.com/", "https://127.0.0.1/hooks", "https://10.1.2.3/",
			"https://169.254.169.254/latest/meta-data", "https://[::1]:8443/", "https://[fd00:ec2::254]/",
			"https://localhost/hooks", "https://a.localhost/", "https://user:pass@hooks.example.com/",
			"https://hooks.example.com/#x", "hooks.example.com/muster", "", "ftp://hooks.example.com/",
			"https://" + strings.Repeat("a", 2000) + ".example.com/", "https://hooks.example.com/\x00", "https://hooks.example.com/\xff"} {
			_, err := strict.CreateWebhook(ctx, service.WebhookInput{URL: url})
			wantCode(t, err, muster.EINVALID)
			if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldURL {
				t.Errorf("%q: fields %+v; want one about url", url, fe)
			}
		}
		if _, err := strict.CreateWebhook(ctx, service.WebhookInput{URL: "https://hooks.example.com/muster",
			EventTypes: []string{"user.invited", "user.sneezed"}}); muster.ErrorCode(err) != muster.EINVALID {
			t.Errorf("an unknown event type: %v", err)
		}
		for _, d := range []string{"HR\x00sync", "HR\xffsync", strings.Repeat("d", 501)} {
			_, err := strict.CreateWebhook(ctx, service.WebhookInput{URL: "https://hooks.example.com/muster", Description: d})
			if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldDescription {
				t.Errorf("description %q: %v; want a refusal about description", d, err)
			}
		}
		for _, url := range []string{"https://hooks.example.com/muster", "https://93.184.215.14/"} {
			if _, err := strict.CreateWebhook(ctx, service.WebhookInput{URL: url}); err != nil {
				t.Errorf("%s: %v", url, err)
			}
		}
		for _, url := range []string{"http://127.0.0.1:9000/hooks", "http://localhost/hooks", "https://10.1.2.3/"} {
			if _, err := dev.CreateWebhook(ctx, service.WebhookInput{URL: url}); err != nil {
				t.Errorf("with the development flag, %s: %v", url, err)
			}
		}
	})
}

// TestWebhookSecretsAtRest: the signing secret is stored sealed with the
// server's key, never as itself; a server without a key cannot make
// endpoints; audit events never carry a secret. Owners and Admins manage
// endpoints; Managers may not.
func TestWebhookSecretsAtRest(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		box := testsupport.SecretBox(t)
		svc := f.hookService(box, false)
		ctx := f.as(f.owner)
		created, err := svc.CreateWebhook(ctx, service.WebhookInput{URL: "https://hooks.example.com/muster"})
		if err != nil {
			t.Fatal(err)
		}
		var stored *muster.WebhookEndpoint
		err = db.View(context.Background(), func(tx muster.Tx) error {
			stored, err = tx.FindWebhookEndpoint(context.Background(), f.org.ID, created.Endpoint.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		shown := strings.TrimPrefix(created.Secret, "whsec_")
		if bytes.Contains(stored.Secret, []byte(shown)) || len(stored.Secret) < 32+12 {
			t.Fatal("the stored secret is not sealed")
		}
		if _, err := testsupport.SecretBox(t).Open(stored.Secret, []byte(fmt.Sprintf("muster webhook secret, org %d", f.org.ID))); err == nil {
			t.Fatal("another key opens the stored secret")
		}

		_, err = f.svc.CreateWebhook(ctx, service.WebhookInput{URL: "https://hooks.example.com/other"})
		wantCode(t, err, muster.ECONFLICT)
		if !strings.Contains(muster.ErrorMessage(err), "--secret-key") {
			t.Errorf("without a key: %v; want it to name --secret-key", err)
		}

		if _, err := svc.RotateWebhookSecret(ctx, created.Endpoint.ID, 0); err != nil {
			t.Fatal(err)
		}
		page, err := svc.FindAuditEvents(ctx, service.AuditQuery{TargetType: muster.TargetWebhook, TargetID: created.Endpoint.ID})
		if err != nil || len(page.Events) != 2 {
			t.Fatalf("audit events of the endpoint: %v, %v; want created and rotated", page, err)
		}
		for _, e := range page.Events {
			for _, m := range []map[string]any{e.Before, e.After} {
				for k, v := range m {
					if s, ok := v.(string); ok && strings.Contains(s, "whsec_") {
						t.Errorf("%s: %s carries a secret", e.Action, k)
					}
				}
			}
		}

		manager := f.active("Max", muster.RoleManager)
		_, err = svc.Webhooks(f.as(manager))
		wantCode(t, err, muster.EFORBIDDEN)
		_, err = svc.CreateWebhook(f.as(manager), service.WebhookInput{URL: "https://hooks.example.com/x"})
		wantCode(t, err, muster.EFORBIDDEN)
		admin := f.active("Ada", muster.RoleAdmin)
		if _, err := svc.UpdateWebhook(f.as(admin), created.Endpoint.ID, service.WebhookUpdate{Description: &[]string{"by Ada"}[0]}); err != nil {
			t.Fatalf("an Admin: %v", err)
		}
	})
}
