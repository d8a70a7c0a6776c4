// Package cli is the muster command: serve, init, migrate, the operator
// commands users, token, scim-token and org, and version. It
// parses flags and the environment into a config.Config, builds the parts of
// Muster and calls the service layer as an operator; it decides nothing
// itself. cmd/muster only calls Run.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/config"
)

// Version is Muster's release, set when building a release with
//
//	go build -ldflags "-X github.com/muster-app/muster/internal/cli.Version=v1.2.3" ./cmd/muster
//
// When it is empty, the module version and VCS revision the Go toolchain
// recorded are used.
var Version string

// env is what a command runs with.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
	// verbs are the actions of a command that takes one ("users export").
	verbs []string
}

func commands() []command {
	return []command{
		{"serve", "run the server: console, API, mail outbox, report jobs and webhooks", runServe, nil},
		{"init", "create an organization and its Owner, and print the Owner's set-up link", runInit, nil},
		{"migrate", "bring the database schema up to date", runMigrate, nil},
		{"users", "export an organization's user list as CSV, or import users from one (users export, users import)",
			runUsers, []string{"export", "import"}},
		{"token", "create an API token for an Owner or Admin (token create)", runToken, []string{"create"}},
		{"scim-token", "create a SCIM token for an identity provider (scim-token create)", runSCIMToken, []string{"create"}},
		{"org", "change an organization's settings or transfer its ownership (org update, org transfer)", runOrg,
			[]string{"update", "transfer"}},
		{"version", "print the version", runVersion, nil},
	}
}

// Run runs the muster command with args (without the program name) and
// returns its exit status: 0 on success, 1 on any error, after saying what
// went wrong on stderr.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, &env{stdout: stdout, stderr: stderr, getenv: os.Getenv}, args)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		printUsage(e.stderr)
		return 1
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && args[1] != "" {
			// "muster help org transfer" is "muster org transfer --help".
			return run(ctx, e, append(slices.Clip(args[1:]), "--help"))
		}
		printUsage(e.stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if len(c.verbs) > 0 && len(args) > 1 {
			switch verb := args[1]; {
			case verb == "-h" || verb == "-help" || verb == "--help":
				fmt.Fprintf(e.stdout, "Usage: muster %s %s [flags]\n\n%s.\n\nRun 'muster %s <action> --help' for an action's flags.\n",
					name, strings.Join(c.verbs, "|"), strings.ToUpper(c.summary[:1])+c.summary[1:], name)
				return 0
			case slices.Contains(c.verbs, verb):
				// Messages name the action: "muster org transfer: …".
				name += " " + verb
			}
		}
		err := c.run(ctx, e, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(*reportedError)):
			return 1
		}
		// Messages may quote what was typed, such as a database URL given
		// to the wrong flag: its password is never printed.
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(e.stderr, "muster %s: %s\nRun 'muster %s --help' for usage.\n", name, config.RedactSecrets(ue.msg), name)
			return 1
		}
		fmt.Fprintf(e.stderr, "muster %s: %s\n", name, config.RedactSecrets(err.Error()))
		return 1
	}
	fmt.Fprintf(e.stderr, "muster: unknown command %s\n\n", config.RedactSecrets(strconv.Quote(name)))
	printUsage(e.stderr)
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "Muster manages the users of your organizations.\n\nUsage: muster <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'muster <command> --help' for a command's flags.\n")
}

// usageError is a mistake in how a command was called.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// reportedError is an error the command has already reported.
type reportedError struct{ error }

// flagSet is a command's flags with its usage text.
type flagSet struct {
	*flag.FlagSet
	loader *config.Loader
	// own are the command's own flags, for usage text.
	own []ownFlag
}

type ownFlag struct{ name, arg, usage string }

func newFlagSet(name string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("muster "+name, flag.ContinueOnError)}
	fs.SetOutput(io.Discard)
	return fs
}

func (fs *flagSet) string(name, arg, usage string) *string {
	fs.own = append(fs.own, ownFlag{name, arg, usage})
	return fs.String(name, "", usage)
}

func (fs *flagSet) bool(name, usage string) *bool {
	fs.own = append(fs.own, ownFlag{name, "", usage})
	return fs.Bool(name, false, usage)
}

// config binds the named configuration settings (every one when none is
// named) as flags.
func (fs *flagSet) config(names ...string) {
	fs.loader = config.Bind(fs.FlagSet, names...)
}

// parse parses args. On --help it prints usage (synopsis, description and
// every flag with its environment variable) to stdout and returns
// flag.ErrHelp.
func (fs *flagSet) parse(e *env, args []string, synopsis, description string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(e.stdout, "Usage: muster %s\n\n%s\n", synopsis, strings.TrimSpace(description))
		if len(fs.own) > 0 {
			fmt.Fprintf(e.stdout, "\nFlags:\n")
			width := 0
			for _, f := range fs.own {
				width = max(width, len("--"+f.name+" "+f.arg))
			}
			for _, f := range fs.own {
				usage := strings.ReplaceAll(f.usage, "\n", "\n"+strings.Repeat(" ", width+4))
				fmt.Fprintf(e.stdout, "  %-*s  %s\n", width, strings.TrimSpace("--"+f.name+" "+f.arg), usage)
			}
		}
		if fs.loader != nil && len(fs.loader.Options()) > 0 {
			fmt.Fprintf(e.stdout, "\nConfiguration (a flag wins over its environment variable):\n")
			config.PrintUsage(e.stdout, fs.loader.Options())
		}
		return err
	}
	if err != nil {
		return usagef("%s", strings.Replace(err.Error(), " -", " --", 1))
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// load returns the validated configuration.
func (fs *flagSet) load(e *env) (*config.Config, error) {
	cfg, err := fs.loader.Load(e.getenv)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		var b strings.Builder
		b.WriteString("invalid configuration:")
		for _, p := range cerr.Problems {
			fmt.Fprintf(&b, "\n  --%s (%s): %s", p.Flag, p.Env, p.Message)
		}
		return nil, usagef("%s", b.String())
	}
	return cfg, err
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("version")
	if err := fs.parse(e, args, "version", "Prints Muster's version and the Go version it was built with."); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "muster %s (%s %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// version is Version, or what the build recorded.
func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" && v == "(devel)" {
		v = "devel-" + rev[:min(12, len(rev))] + modified
	}
	return v
}
