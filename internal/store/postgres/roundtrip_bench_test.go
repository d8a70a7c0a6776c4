package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// BenchmarkRoundTrip prices a round trip to PostgreSQL apart from the
// work of a statement: the same trivial statement sent alone (one round
// trip each) and in pgx batches of 2 and 4 (one round trip for all). Each
// reports the wall time, this process's CPU (pgx and the kernel's system
// calls) and, when the server is on this machine, the CPU of the backend
// serving the connection, all per statement. The difference between
// "alone" and a batch is what pipelining statements would save; what a
// request costs beyond it is its statements' own work (docs/benchmarks.md,
// round 21).
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, storetest.PostgresSchema(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(ctx) })
	var backend int
	if err := conn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&backend); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1, 2, 4} {
		name := "alone"
		if size > 1 {
			name = fmt.Sprint("batch-", size)
		}
		b.Run(name, func(b *testing.B) {
			serverStart, serverOK := processCPU(backend)
			clientStart := ownCPU(b)
			b.ResetTimer()
			sent := 0
			for sent < b.N {
				if err := sendSelects(ctx, conn, sent, size); err != nil {
					b.Fatal(err)
				}
				sent += size
			}
			b.StopTimer()
			perStatement := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(sent) }
			b.ReportMetric(perStatement(ownCPU(b)-clientStart), "client-cpu-µs/stmt")
			if serverEnd, ok := processCPU(backend); ok && serverOK {
				b.ReportMetric(perStatement(serverEnd-serverStart), "server-cpu-µs/stmt")
			}
		})
	}
}

// sendSelects sends n statements SELECT i: alone, or in one batch.
func sendSelects(ctx context.Context, conn *pgx.Conn, i, n int) error {
	if n == 1 {
		var got int
		return conn.QueryRow(ctx, `SELECT $1::int`, i).Scan(&got)
	}
	batch := &pgx.Batch{}
	for range n {
		batch.Queue(`SELECT $1::int`, i)
	}
	return conn.SendBatch(ctx, batch).Close()
}

// ownCPU is the CPU time this process has spent, user and system.
func ownCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the CPU time process pid has spent, user and system, from
// /proc/PID/stat (clock ticks of 1/100 s); false when it cannot be read,
// as for a server on another machine.
func processCPU(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The fields after the command's name, which is in parentheses: utime
	// is the 12th and stime the 13th.
	fields := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.Atoi(string(fields[11]))
	stime, err2 := strconv.Atoi(string(fields[12]))
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
