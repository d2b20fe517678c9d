package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/boskos-serverless/boskos/core/auth"
)

const credentialsUsage = "Usage: boskos credentials add NAME --file FILE [--owners 'ci-*,bot'] [--role client|maintainer|admin] [--generate | --iam ARN]\n"

// cmdCredentials is `boskos credentials add NAME ...`: it adds or replaces
// the principal NAME in the credentials file, with the password read from
// stdin (its first line) or, with --generate, a random one printed once;
// with --iam, an IAM principal (API Gateway's IAM authorization) that has
// no password unless --generate gives it one as well.
func cmdCredentials(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprint(stderr, credentialsUsage)
		return 2
	}
	args = args[1:]
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	fs := newFlagSet("credentials add", stderr)
	file := fs.String("file", "", "credentials file to update (created when missing; required)")
	owners := fs.String("owners", "", "comma-separated owner names and globs ('*' matches any run of characters) the principal may act as (required but for admin)")
	role := fs.String("role", string(auth.RoleClient), "client (acquire/update/release as its owners, metrics), maintainer (also /reset and /acquirebystate) or admin (everything)")
	generate := fs.Bool("generate", false, "generate a random password and print it once, instead of reading one from stdin")
	iam := fs.String("iam", "", "ARN of the IAM user or role that API Gateway's IAM authorization identifies (a role also matches its sessions); no password is read")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "boskos credentials add: unexpected arguments %q\n%s", fs.Args(), credentialsUsage)
		return 2
	}
	if name == "" || *file == "" {
		fmt.Fprint(stderr, "boskos credentials add: NAME and --file are required\n"+credentialsUsage)
		return 2
	}
	var password string
	if *iam != "" && !*generate {
		// An IAM principal: AWS authenticates it, it has no password.
	} else if *generate {
		pw, err := auth.GeneratePassword()
		if err != nil {
			fmt.Fprintf(stderr, "boskos credentials add: %v\n", err)
			return 1
		}
		password = pw
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(stderr, "boskos credentials add: reading the password from stdin: %v\n", err)
			return 1
		}
		password = strings.TrimRight(line, "\r\n")
		if password == "" {
			fmt.Fprint(stderr, "boskos credentials add: no password on stdin (or use --generate)\n")
			return 2
		}
	}
	p := auth.Principal{Name: name, IAM: *iam, Role: auth.Role(*role)}
	if password != "" {
		hash, err := auth.HashPassword(password)
		if err != nil {
			fmt.Fprintf(stderr, "boskos credentials add: %v\n", err)
			return 1
		}
		p.PasswordHash = hash
	}
	for _, o := range strings.Split(*owners, ",") {
		if o = strings.TrimSpace(o); o != "" {
			p.Owners = append(p.Owners, o)
		}
	}
	replaced, err := auth.AddToFile(*file, p)
	if err != nil {
		fmt.Fprintf(stderr, "boskos credentials add: %v\n", err)
		return 1
	}
	verb := "added"
	if replaced {
		verb = "replaced"
	}
	fmt.Fprintf(stderr, "%s principal %q (role %s) in %s\n", verb, name, p.Role, *file)
	if *generate {
		fmt.Fprintln(stdout, password) // the only time it is shown
	}
	return 0
}
