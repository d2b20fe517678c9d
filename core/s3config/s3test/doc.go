// Package s3test gives tests an S3 over real HTTP: gofakes3 (in memory) in
// an httptest server, with a counter of the requests it answered, and a
// client of the real SDK addressing it path-style, as the functions do
// with AWS_ENDPOINT_URL_S3.
//
//	srv := s3test.NewServer(t)
//	srv.CreateBucket(t, "cfg")
//	src := s3config.New(srv.Client(t), s3config.URI{Bucket: "cfg", Key: "boskos.yaml"})
//	srv.Reset()
//	... // one reconciler pass
//	require.Equal(t, 1, srv.Total())
package s3test
