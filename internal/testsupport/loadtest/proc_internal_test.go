package loadtest

import (
	"context"
	"os"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestBackendsCPU counts the CPU time of the PostgreSQL backends that serve
// this process while they sum three million numbers each — one connected
// before the count began and one after —, and that of no backend before it.
func TestBackendsCPU(t *testing.T) {
	db := storetest.OpenSQL(t, storetest.PostgresSchema(t))
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.PingContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := newBackendsCPU(os.Getpid())
	if len(b.first) == 0 {
		t.Fatal("no backend found for this process's connection")
	}
	var sum int64
	if err := conn.QueryRowContext(context.Background(), `SELECT sum(i) FROM generate_series(1, 3000000) i`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	b.sample()
	first := b.seconds()
	if first < 0.05 {
		t.Errorf("the backend used %.2f s of CPU; want the query's (at least 0.05 s)", first)
	}

	later, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer later.Close()
	if err := later.QueryRowContext(context.Background(), `SELECT sum(i) FROM generate_series(1, 3000000) i`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	b.find()
	b.sample()
	if s := b.seconds() - first; s < 0.05 {
		t.Errorf("the backend connected after the start used %.2f s of CPU; want its query's (at least 0.05 s)", s)
	}
}
