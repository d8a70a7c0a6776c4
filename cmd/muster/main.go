// Command muster runs Muster, a self-hostable user-management service. See
// 'muster --help'; the commands live in internal/cli.
package main

import (
	"context"
	"os"

	"github.com/muster-app/muster/internal/cli"
)

func main() {
	os.Exit(cli.Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
