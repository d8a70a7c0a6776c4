// Package store opens the store a database URL names.
package store

import (
	"context"
	"strings"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// DefaultSQLitePath is where Muster keeps its data when no database is named.
const DefaultSQLitePath = "muster-data/muster.db"

// IsPostgres reports whether url selects PostgreSQL.
func IsPostgres(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// Open opens and migrates the database: PostgreSQL for a postgres:// URL,
// otherwise a SQLite file at the path (an optional "sqlite:" or "file:"
// prefix is dropped).
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	if IsPostgres(url) {
		return postgres.Open(ctx, url)
	}
	path := url
	for _, prefix := range []string{"sqlite://", "sqlite:", "file:"} {
		path = strings.TrimPrefix(path, prefix)
	}
	if path == "" {
		path = DefaultSQLitePath
	}
	return sqlite.Open(ctx, path)
}
