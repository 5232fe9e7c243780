module volley.dev/volley

go 1.24
