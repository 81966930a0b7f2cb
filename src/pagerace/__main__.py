from pagerace.cli.entry import main

main()
