from localgate.cli import main

main()
