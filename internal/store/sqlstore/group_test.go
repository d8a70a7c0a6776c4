package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// TestGroupCommit: on SQLite, concurrent writes share commits; each still
// succeeds or fails alone. Writes that fail, panic or whose caller has gone
// leave nothing behind, and the others' changes all stay.
func TestGroupCommit(t *testing.T) {
	db := openSQLite(t)
	defer db.Close()
	ctx := context.Background()
	errRefused := errors.New("refused")
	const n = 200
	var wg sync.WaitGroup
	results := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Go(func() {
			wctx := ctx
			if i%7 == 3 {
				var cancel context.CancelFunc
				wctx, cancel = context.WithCancel(ctx)
				cancel()
			}
			defer func() { panics[i] = recover() }()
			results[i] = db.Update(wctx, func(tx muster.Tx) error {
				org := &muster.Org{Name: fmt.Sprintf("Org %d", i), Region: "us", LicenseTotal: 5, CreatedAt: time.Now()}
				if err := tx.CreateOrg(ctx, org); err != nil {
					return err
				}
				switch i % 7 {
				case 1:
					return errRefused
				case 5:
					panic("boom")
				}
				return nil
			})
		})
	}
	wg.Wait()
	want := 0
	for i := range n {
		switch i % 7 {
		case 1:
			if !errors.Is(results[i], errRefused) {
				t.Errorf("write %d: %v; want its own error", i, results[i])
			}
		case 3:
			if !errors.Is(results[i], context.Canceled) {
				t.Errorf("write %d with a canceled context: %v", i, results[i])
			}
		case 5:
			if panics[i] != "boom" {
				t.Errorf("write %d: panic %v; want its own panic back", i, panics[i])
			}
		default:
			want++
			if results[i] != nil || panics[i] != nil {
				t.Errorf("write %d: %v %v; want success", i, results[i], panics[i])
			}
		}
	}
	var got int
	if err := db.View(ctx, func(tx muster.Tx) (err error) { got, err = tx.CountOrgs(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("%d orgs stored; want the %d successful writes' and no others", got, want)
	}
}

// TestGroupCommitSerial: each write in a group sees the writes before it,
// as if they ran one after another.
func TestGroupCommitSerial(t *testing.T) {
	db := openSQLite(t)
	defer db.Close()
	ctx := context.Background()
	org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 1000, CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx muster.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			err := db.Update(ctx, func(tx muster.Tx) error {
				o, err := tx.FindOrg(ctx, org.ID)
				if err != nil {
					return err
				}
				_, err = tx.SetLicenseTotal(ctx, org.ID, o.LicenseTotal+1)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var got *muster.Org
	if err := db.View(ctx, func(tx muster.Tx) (err error) { got, err = tx.FindOrg(ctx, org.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if got.LicenseTotal != 1100 {
		t.Fatalf("license total %d after 100 increments from 1000; a write missed another's change", got.LicenseTotal)
	}
}

// TestGroupCommitAloneFails: a write alone in its group runs without a
// savepoint of its own; failed or panicking, it still leaves nothing
// behind, and the writes after it commit.
func TestGroupCommitAloneFails(t *testing.T) {
	db := openSQLite(t)
	defer db.Close()
	ctx := context.Background()
	errRefused := errors.New("refused")
	create := func(name string) error {
		return db.Update(ctx, func(tx muster.Tx) error {
			return tx.CreateOrg(ctx, &muster.Org{Name: name, Region: "us", LicenseTotal: 5, CreatedAt: time.Now()})
		})
	}
	if err := db.Update(ctx, func(tx muster.Tx) error {
		if err := tx.CreateOrg(ctx, &muster.Org{Name: "Refused", Region: "us", LicenseTotal: 5, CreatedAt: time.Now()}); err != nil {
			return err
		}
		return errRefused
	}); !errors.Is(err, errRefused) {
		t.Fatalf("refused write: %v", err)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("panicking write: panic %v; want its own", p)
			}
		}()
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateOrg(ctx, &muster.Org{Name: "Panicked", Region: "us", LicenseTotal: 5, CreatedAt: time.Now()}); err != nil {
				return err
			}
			panic("boom")
		})
		t.Errorf("panicking write returned %v", err)
	}()
	if err := create("Kept"); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := db.View(ctx, func(tx muster.Tx) (err error) { got, err = tx.CountOrgs(ctx); return err }); err != nil {
		t.Fatal(err)
	}
	if got != 1 {
		t.Fatalf("%d orgs stored; want only the last write's", got)
	}
}
