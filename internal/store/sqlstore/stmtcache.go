package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// maxCachedStmts bounds the statements one pool keeps prepared. Muster's
// queries are a fixed set (lists of ids are padded to a few lengths, see
// inList), so the bound is only a guard against a query built from input.
const maxCachedStmts = 512

// stmtCache keeps a pool's statements prepared, by query text.
//
// A statement is prepared on the pool, not in the transaction that first
// runs it: database/sql then keeps it prepared per connection, and
// Tx.StmtContext finds it on the transaction's connection (preparing it
// there once if needed). The pool prepares in the background, because the
// transaction that asks may hold the pool's only connection (SQLite's
// writer); until then the query runs unprepared.
type stmtCache struct {
	pool *sql.DB

	mu    sync.Mutex
	stmts map[string]*sql.Stmt // nil for a query being prepared or that failed to
	wg    sync.WaitGroup
	done  chan struct{}
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: make(map[string]*sql.Stmt), done: make(chan struct{})}
}

// get returns the prepared statement for query, or nil after starting to
// prepare it.
func (c *stmtCache) get(query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s, seen := c.stmts[query]
	if seen || len(c.stmts) >= maxCachedStmts {
		return s
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	c.stmts[query] = nil
	c.wg.Add(1)
	go c.prepare(query)
	return nil
}

func (c *stmtCache) prepare(query string) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		// Left nil: the query keeps running unprepared, and a query that
		// cannot be prepared is not tried again.
		return
	}
	c.mu.Lock()
	c.stmts[query] = s
	c.mu.Unlock()
}

// close stops preparing and closes the prepared statements, before the
// pool closes.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	select {
	case <-c.done: // closed before
	default:
		close(c.done)
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		if s != nil {
			s.Close()
		}
	}
	clear(c.stmts)
}
