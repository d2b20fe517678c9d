// Package reliability is the reliability suite of the service (issue 9): it
// holds no production code, only tests that attack the whole service over
// real HTTP and check what clients were told against what must hold.
//
//   - Linearizability: concurrent client histories of /acquire (with and
//     without request_id), /acquirebystate, /update, /release and /reset on
//     a small pool are checked with Porcupine against a sequential model of
//     the Boskos API (owner, state and epoch per resource). Targets: the
//     local server on the memory and on the bolt store, and two
//     `boskos serve` processes on one DynamoDB Local table.
//   - Crash safety: `boskos serve` on a bolt file is killed with SIGKILL at
//     random moments under load and restarted on the same file; every
//     acknowledged lease and release must survive, and the file must pass
//     bbolt's consistency check.
//   - Overload: hundreds of polling clients on a few resources; /healthz
//     stays responsive, goroutines and memory stay bounded and return to
//     their level afterwards, and the request_id queue is still FIFO.
//   - Tests of the tests: a store that skips a write's condition must make
//     the linearizability check fail, and a store that loses acknowledged
//     writes must make the crash check fail.
//
// The short forms run in `go test ./...` (and so in `make test`); `make
// reliability` sets BOSKOS_RELIABILITY=long for the long forms. Every knob
// can also be set alone (see config in env_test.go). When a check fails,
// its evidence (Porcupine's HTML visualization, the history) is written
// under $BOSKOS_RELIABILITY_ARTIFACTS, or a fresh temporary directory, and
// the path is logged.
package reliability
