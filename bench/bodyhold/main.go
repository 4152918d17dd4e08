// Bodyhold measures the server's peak memory under the red team's body-hold
// attack: it builds examples/quickstart, serves it, opens many connections
// that each send a nearly complete large JSON body (all but its last 5 bytes)
// to the JSON echo and then hold, and reads the server's peak resident set
// (VmHWM in /proc/PID/status, so Linux only) before and during the hold.
//
//	go run ./bench/bodyhold [-conns 100] [-size 8388608] [-hold 5s]
//
// With the service's body budget, the bodies past the budget are answered
// 503 unread and the peak stays near the idle figure; without it every body
// is read and decoded before admission.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	conns := flag.Int("conns", 100, "connections holding a body")
	size := flag.Int("size", 8<<20, "body size in bytes (the quickstart's limit is 8 MiB)")
	hold := flag.Duration("hold", 5*time.Second, "how long the connections hold")
	flag.Parse()
	if err := run(*conns, *size, *hold); err != nil {
		log.Fatal(err)
	}
}

func run(conns, size int, hold time.Duration) error {
	dir, err := os.MkdirTemp("", "bodyhold")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "quickstart")
	if out, err := exec.Command("go", "build", "-o", bin, "./examples/quickstart").CombinedOutput(); err != nil {
		return fmt.Errorf("build examples/quickstart (run from the module root): %v\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	srv := exec.Command(bin)
	srv.Env = append(os.Environ(), "API_PORT="+strconv.Itoa(port))
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := waitServing("http://" + addr + "/my_endpoint?my_int=1"); err != nil {
		return err
	}
	idle, err := peakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}

	body := []byte(`{"val":1,"p":"` + strings.Repeat("A", size-16) + `"}`)
	head := fmt.Sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[string]int{}
		open   []net.Conn
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				mu.Lock()
				status["dial error"]++
				mu.Unlock()
				return
			}
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			c.SetWriteDeadline(time.Now().Add(hold))
			c.Write([]byte(head))
			c.Write(body[:len(body)-5]) // fails early if the server answered and closed
		}()
	}
	wg.Wait()
	time.Sleep(hold) // the attack is to hold: the server's peak is read after it
	held, err := peakRSS(srv.Process.Pid)
	if err != nil {
		return err
	}
	// Early answers: a refused body is answered before it is read.
	for _, c := range open {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			status["held, no answer yet"]++
		} else {
			status[strings.TrimSpace(line)]++
		}
		c.Close()
	}
	fmt.Printf("connections: %d, body %d bytes less 5, held %v\n", conns, len(body), hold)
	fmt.Printf("answers during the hold: %v\n", status)
	fmt.Printf("server peak RSS (VmHWM): idle %d MB, under the attack %d MB\n", idle>>10, held>>10)
	return nil
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitServing polls url until it answers 200.
func waitServing(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer", url)
}

// peakRSS reads a process's peak resident set in KiB.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS (Linux only): %w", err)
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
