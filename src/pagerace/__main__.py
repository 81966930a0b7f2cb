from pagerace.cli.main import main

main()
