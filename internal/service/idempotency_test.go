package service_test

import (
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// TestIdempotentChange: 20 concurrent invitations under one key make one
// user, and each gets that user; the key with another request is refused;
// a refused change leaves no trace of its key, so that its repeat, once the
// refusal's cause is gone, is made (API-3).
func TestIdempotentChange(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 3)
		in := service.InviteInput{FirstName: "Ida", LastName: "Empotent", Email: uniqueEmail("ida"),
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID}
		hash := []byte("POST /api/v1/users {ida}")
		ids := make([]int64, 20)
		replays := make([]bool, 20)
		ok, codes := race(t, 20, func(i int) error {
			idem := &service.Idempotency{Key: "k1", RequestHash: hash}
			res, err := f.svc.Invite(service.WithIdempotency(f.as(f.owner), idem), in)
			if err == nil {
				ids[i], replays[i] = res.User.ID, idem.Replayed
			}
			return err
		})
		if ok != 20 {
			t.Fatalf("concurrent repeats: %d answered, refusals %v; want all 20", ok, codes)
		}
		made := 0
		for i := range ids {
			if ids[i] != ids[0] {
				t.Fatalf("repeats got users %v; want one", ids)
			}
			if !replays[i] {
				made++
			}
		}
		if used, _ := f.seats(t); used != 2 || made != 1 {
			t.Fatalf("%d seats used, %d requests made the change; want 2 (Owner, Ida) and 1", used, made)
		}

		other := in
		other.Email = uniqueEmail("other")
		_, err := f.svc.Invite(service.WithIdempotency(f.as(f.owner),
			&service.Idempotency{Key: "k1", RequestHash: []byte("POST /api/v1/users {other}")}), other)
		var e *muster.Error
		if muster.ErrorCode(err) != muster.EINVALID || !asError(err, &e) || e.Reason != muster.ReasonIdempotencyKeyReused {
			t.Fatalf("the key with another request: %v; want it refused as reused", err)
		}

		// One seat left: the second of two keyed invitations is refused, and
		// made when it is repeated after a seat is freed.
		last := in
		last.Email = uniqueEmail("last")
		if _, err := f.svc.Invite(f.as(f.owner), last); err != nil {
			t.Fatal(err)
		}
		late := in
		late.Email = uniqueEmail("late")
		key := func() *service.Idempotency {
			return &service.Idempotency{Key: "k2", RequestHash: []byte("POST /api/v1/users {late}")}
		}
		_, err = f.svc.Invite(service.WithIdempotency(f.as(f.owner), key()), late)
		wantCode(t, err, muster.ESEATS)
		if _, err := f.svc.Withdraw(f.as(f.owner), ids[0]); err != nil {
			t.Fatal(err)
		}
		idem := key()
		res, err := f.svc.Invite(service.WithIdempotency(f.as(f.owner), idem), late)
		if err != nil || idem.Replayed || res.User.Email != late.Email {
			t.Fatalf("repeat after the refusal: %+v, replayed %v, %v; want the invitation made now", res, idem.Replayed, err)
		}
	})
}
