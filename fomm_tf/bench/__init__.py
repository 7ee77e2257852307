"""Speed: ``fomm bench`` (:mod:`.frame`) and the benchmarks' median timer (:mod:`.timing`)."""
