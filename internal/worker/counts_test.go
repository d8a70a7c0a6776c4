package worker_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/worker"
)

// TestCountFolderFoldsAtStart: started, the folder folds at once the count
// change the new org's Owner made to the Default Team (its next fold is an
// hour away), and the team still counts the Owner.
func TestCountFolderFoldsAtStart(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com",
			Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams})
		setup, err := svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
			service.NewOrg{Name: "Counts Inc", LicenseTotal: 5, OwnerEmail: "counts@example.com",
				OwnerFirstName: "Cora", OwnerLastName: "Counts"})
		if err != nil {
			t.Fatal(err)
		}

		folds := make(chan fold)
		folder := &worker.CountFolder{Store: reportedFolds{db, folds}, Log: slog.New(slog.DiscardHandler), Every: time.Hour}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { folder.Run(ctx); close(done) }()
		first := <-folds
		stop()
		<-done
		if first.err != nil || first.changes != 1 {
			t.Fatalf("the first fold: %d changes, %v; want the Owner's one", first.changes, first.err)
		}

		err = db.View(context.Background(), func(tx muster.Tx) error {
			team, err := tx.FindDefaultTeam(context.Background(), setup.Org.ID)
			if err == nil && team.PrimaryCount != 1 {
				t.Errorf("the Default Team counts %d primary members after the fold; want the Owner", team.PrimaryCount)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// fold is what a call of FoldTeamCounts returned.
type fold struct {
	changes int
	err     error
}

// reportedFolds is the store, each of whose folds it reports.
type reportedFolds struct {
	db    *sqlstore.DB
	folds chan<- fold
}

func (r reportedFolds) FoldTeamCounts(ctx context.Context) (int, error) {
	n, err := r.db.FoldTeamCounts(ctx)
	r.folds <- fold{n, err}
	return n, err
}
