"""The two apps' fixtures: golden vectors (:mod:`.golden`), the web-test harness and samples
(:mod:`.web`), Android assets (:mod:`.android`)."""
