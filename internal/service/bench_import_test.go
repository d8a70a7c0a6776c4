package service_test

// Benchmarks of a CSV import of 100,000 new people (BULK-1) on both stores:
// the dry run, and the commit applied by the job. They run only with
// -bench, one import per iteration:
//
//	go test -run '^$' -bench Import -benchtime 1x ./internal/service/
//
// MUSTER_BENCH_IMPORT_ROWS changes the file's size;
// MUSTER_BENCH_IMPORT_DRY_RUN_ONLY=1 measures the dry run alone.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

func benchImportRows(tb testing.TB) int {
	n, err := strconv.Atoi(os.Getenv("MUSTER_BENCH_IMPORT_ROWS"))
	if err != nil || n <= 0 {
		return 100_000
	}
	return n
}

// importFile is a file of n new people, a few teams between them.
func importFile(n int, prefix string) string {
	var b strings.Builder
	b.WriteString("Email,First Name,Last Name,Role,Primary Team,Secondary Teams\r\n")
	for i := range n {
		fmt.Fprintf(&b, "%s%d@example.com,First%d,Last%d,Basic User,Team %d,Team %d; Team %d\r\n", prefix, i, i, i,
			i%10, (i+1)%10, (i+2)%10)
	}
	return b.String()
}

func BenchmarkImport(b *testing.B) {
	n := benchImportRows(b)
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			var plan, commit time.Duration
			for i := range b.N {
				db := storetest.Open(b, dialect)
				c := &clock{}
				c.now.Store(time.Now().UnixMicro())
				svc := newService(db, c)
				res, err := svc.CreateOrg(operator(0), service.NewOrg{Name: "Bench", LicenseTotal: n + 10,
					OwnerEmail: fmt.Sprintf("owner%d@bench.example", i), OwnerFirstName: "O", OwnerLastName: "Owner"})
				if err != nil {
					b.Fatal(err)
				}
				ctx := operator(res.Org.ID)
				file := importFile(n, fmt.Sprintf("p%d.", i))
				start := time.Now()
				p, err := svc.PlanImport(ctx, service.ImportInput{FileName: "bench.csv", File: strings.NewReader(file), CreateTeams: true})
				if err != nil {
					b.Fatal(err)
				}
				plan += time.Since(start)
				if p.Summary.Counts.Invite != n {
					b.Fatalf("%+v", p.Summary)
				}
				if os.Getenv("MUSTER_BENCH_IMPORT_DRY_RUN_ONLY") != "" {
					continue
				}
				start = time.Now()
				if _, err := svc.CommitImport(ctx, p.ID); err != nil {
					b.Fatal(err)
				}
				for {
					ran, err := svc.RunNextImport(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					if !ran {
						break
					}
				}
				commit += time.Since(start)
				done, err := svc.FindImport(ctx, p.ID, false)
				if err != nil || done.Result.Invited != n {
					b.Fatalf("%v %+v", err, done.Result)
				}
			}
			b.ReportMetric(plan.Seconds()/float64(b.N), "dry-run-s")
			b.ReportMetric(commit.Seconds()/float64(b.N), "commit-s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
