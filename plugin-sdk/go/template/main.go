// A minimal Volley scenario: one GET of TARGET_URL per iteration, with a check.
//
//	./build.sh && volley run scenario.wasm --env TARGET_URL=http://127.0.0.1:8080
package main

import (
	"errors"
	"time"

	"volley.dev/volley"
)

func init() {
	volley.Register(volley.Scenario{
		// Default load options (k6-style JSON), used where the command line gives none.
		Options: `{"vus": 10, "duration": "30s", "thresholds": {"checks": ["rate>0.99"]}}`,

		// One iteration; the runner calls it over and over on every VU.
		Iteration: func(exec string) error {
			url := volley.Env("TARGET_URL")
			if url == "" {
				return errors.New("set --env TARGET_URL=http://host:port/")
			}
			response, err := volley.Get(url, volley.Name("GET TARGET_URL"))
			if err != nil {
				return err // no response: counted in http_req_failed and as a failed iteration
			}
			volley.Check("status is 2xx", response.OK())
			volley.Sleep(500 * time.Millisecond) // think time
			return nil
		},
	})
}

// main is required by the Go tool chain but never called: the runner calls the
// scenario registered above.
func main() {}
