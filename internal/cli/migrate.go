package cli

import (
	"context"
	"fmt"

	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/store"
)

const migrateDescription = `
Applies the database migrations this binary carries that the database lacks,
then says the schema version. 'muster serve' does the same at start; run
migrate on its own to upgrade before starting new servers.
`

func runMigrate(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("migrate")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "migrate [--db URL]", migrateDescription); err != nil {
		return err
	}
	cfg, err := fs.load(e)
	if err != nil {
		return err
	}
	v, err := migrate(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "The database %s is at schema version %d.\n", cfg.RedactedDatabaseURL(), v)
	return nil
}

// migrate brings the database up to date and returns its schema version.
func migrate(ctx context.Context, cfg *config.Config) (int64, error) {
	// Opening a store migrates it.
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return 0, fmt.Errorf("migrating the database %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	defer db.Close()
	return db.Version(ctx)
}
