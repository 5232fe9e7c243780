module volley.dev/examples/concert-booking-go

go 1.24

require volley.dev/volley v0.0.0

// The SDK lives in this repository, not on a module proxy.
replace volley.dev/volley => ../../plugin-sdk/go
