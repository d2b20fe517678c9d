package s3test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/boskos-serverless/boskos/core/s3config"
)

// Region is the region of the test clients.
const Region = "us-east-1"

// Server is an in-memory S3 over HTTP. It counts the requests it answered
// by "METHOD STATUS" (e.g. "GET 304"); it is safe for concurrent use.
type Server struct {
	// URL is the endpoint (AWS_ENDPOINT_URL_S3 of a function under test).
	URL string

	mu     sync.Mutex
	counts map[string]int
	last   http.Header
}

// NewServer starts a server that stops when the test ends.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	s := &Server{counts: map[string]int{}}
	h := faker.Server()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		s.mu.Lock()
		s.counts[r.Method+" "+strconv.Itoa(sw.status)]++
		s.last = r.Header.Clone()
		s.mu.Unlock()
	}))
	tb.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// Client returns a client of the real SDK for the server, path-style, with
// static credentials. optFns are applied last.
func (s *Server) Client(tb testing.TB, optFns ...func(*s3.Options)) *s3.Client {
	tb.Helper()
	c, err := newClient(s3config.ClientConfig{
		Region:        Region,
		Endpoint:      s.URL,
		Credentials:   credentials.NewStaticCredentialsProvider("local", "local", ""),
		ClientOptions: optFns,
	})
	if err != nil {
		tb.Fatalf("s3test: client: %v", err)
	}
	return c
}

// newClient is the test client: region and credentials are set, so the
// SDK's configuration loader has nothing to add.
func newClient(cfg s3config.ClientConfig) (*s3.Client, error) {
	return s3config.NewClientFromConfig(aws.Config{}, cfg), nil
}

// CreateBucket creates a bucket.
func (s *Server) CreateBucket(tb testing.TB, name string) {
	tb.Helper()
	if _, err := s.Client(tb).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		tb.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}

// Counts returns the requests answered since the last Reset, by
// "METHOD STATUS".
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Total returns the number of requests answered since the last Reset.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.counts {
		n += v
	}
	return n
}

// LastHeader returns the headers of the last request answered.
func (s *Server) LastHeader() http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last.Clone()
}

// Reset sets the counts to zero.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}
