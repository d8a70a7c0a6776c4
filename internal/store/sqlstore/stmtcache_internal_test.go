package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// TestCloseWhilePreparing: a statement first run while the pool's only
// connection is taken (SQLite's writer, held by a transaction) is prepared
// once the connection is free; closing the cache meanwhile must not wait
// for that.
func TestCloseWhilePreparing(t *testing.T) {
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	pool.SetMaxOpenConns(1)
	ctx := context.Background()
	held, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	c := newStmtCache(pool)
	if s := c.get(`SELECT 1`); s != nil {
		t.Fatal("a statement was prepared without a free connection")
	}
	closed := make(chan struct{})
	go func() { c.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close waited for a statement being prepared")
	}
}
