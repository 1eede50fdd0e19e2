def worker(main):
    a = 1
    main.switch("from worker 1")
    b = 2
    main.switch("from worker 2")
    c = 3
    return a + b + c
