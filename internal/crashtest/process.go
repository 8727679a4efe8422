package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// startTimeout bounds a child's start: exec, opening the store (with
	// recovery after a kill) and listening. It is generous because the
	// race detector slows every step.
	startTimeout = 30 * time.Second
	// exitTimeout bounds the wait for a killed or stopped child to exit.
	exitTimeout = 30 * time.Second
)

// child is the parent's handle on one running child process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	url    string        // the webhook endpoint
	exited chan struct{} // closed once waitErr is set
	// waitErr is cmd.Wait's answer; read it only after exited is closed.
	waitErr error
}

// start runs the test binary as a child on the run's database and waits until
// it serves.
func (r *runner) start(ctx context.Context, life string) *child {
	r.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout="+childTestTimeout.String())
	cmd.Env = append(os.Environ(), roleVar+"="+roleChild, storeVar+"="+r.cfg.Store, targetVar+"="+r.cfg.Target)
	cmd.Env = append(cmd.Env, r.cfg.ChildEnv...)
	addr := make(chan string, 1)
	r.output.begin(life)
	cmd.Stdout = &addressWriter{out: r.output, addr: addr}
	cmd.Stderr = r.output
	stdin, err := cmd.StdinPipe()
	require.NoError(r.t, err)
	require.NoError(r.t, cmd.Start(), "start the child for %s", life)

	c := &child{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	select {
	case a := <-addr:
		c.url = "http://" + a + webhookPath(gatewayName)
		return c
	case <-c.exited:
		r.t.Fatalf("the child exited before serving in %s: %v", life, c.waitErr)
	case <-time.After(startTimeout):
		_ = c.kill()
		r.t.Fatalf("the child did not serve within %s in %s", startTimeout, life)
	case <-ctx.Done():
		_ = c.kill()
		r.t.Fatalf("run timed out starting %s", life)
	}
	return nil
}

// kill sends SIGKILL and waits for the child to be gone. A child that had
// already exited is an error: it died on its own, which is a finding.
func (c *child) kill() error {
	if err := c.cmd.Process.Kill(); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			<-c.exited
			return fmt.Errorf("the child exited before it was killed: %v", c.waitErr)
		}
		return fmt.Errorf("kill the child: %w", err)
	}
	select {
	case <-c.exited:
		return nil
	case <-time.After(exitTimeout):
		return fmt.Errorf("the child did not exit within %s of SIGKILL", exitTimeout)
	}
}

// stop closes the child's stdin, which asks it to shut down cleanly, and
// waits for it to exit, which it must do with success.
func (c *child) stop() error {
	if err := c.stdin.Close(); err != nil {
		_ = c.kill()
		return fmt.Errorf("close the child's stdin: %w", err)
	}
	select {
	case <-c.exited:
		return c.waitErr
	case <-time.After(exitTimeout):
		_ = c.kill()
		return fmt.Errorf("the child did not stop within %s", exitTimeout)
	}
}

// childOutput collects what the children write, across lives, to be shown
// when a run fails.
type childOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *childOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// begin marks where a life's output starts.
func (o *childOutput) begin(life string) { fmt.Fprintf(o, "--- %s\n", life) }

// tail returns the last n bytes written.
func (o *childOutput) tail(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf.Bytes()
	return string(b[max(0, len(b)-n):])
}

// addressWriter is a child's stdout: it hands the announced address to addr
// once and passes everything to out. The testing package may print on the
// same stream, so the address is found by its line prefix.
type addressWriter struct {
	out     io.Writer
	addr    chan<- string
	partial []byte // an incomplete last line; only exec's copier writes
	found   bool
}

func (w *addressWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		line, rest, ok := bytes.Cut(w.partial, []byte("\n"))
		if !ok {
			break
		}
		if a, isAddr := strings.CutPrefix(string(line), listeningPrefix); isAddr && !w.found {
			w.found = true
			w.addr <- a
		}
		w.partial = rest
	}
	return w.out.Write(p)
}
